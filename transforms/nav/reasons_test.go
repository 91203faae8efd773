package nav

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Reasons holds the value of every Reason* constant the parser and the
// validator declare, read from their source: a reason added later without
// being listed fails here, so `quarantine list --reason` never refuses a
// reason rows really carry.
func TestReasonsListsEveryReasonConstant(t *testing.T) {
	var want []string
	for _, file := range []string{"../amfi/parser.go", "nav.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Reason") || len(vs.Values) != 1 {
				return true
			}
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				want = append(want, v)
			}
			return true
		})
	}
	got := slices.Clone(Reasons)
	slices.Sort(got)
	slices.Sort(want)
	if len(want) < 13 || !slices.Equal(got, want) {
		t.Errorf("Reasons %v\nthe constants %v", got, want)
	}
}
