package config

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3's own messages name Go types and YAML tags
// ("cannot unmarshal !!str `5 seconds` into time.Duration") and report
// syntax errors a line off; these turn them into words a person can act on.

var lineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// maxSyntaxScan bounds the re-parsing that finds a syntax error's line: a
// config is a few hundred lines, never thousands.
const maxSyntaxScan = 5000

// syntaxError reports a YAML syntax error at its real line. yaml.v3 names
// the line of the enclosing construct, 0-based for parser errors; the
// first line after the longest prefix of the file that still parses is
// where the file stops being YAML.
func syntaxError(data []byte, err error) FieldError {
	fe := FieldError{Path: "(yaml)", Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := lineRe.FindStringSubmatch(fe.Msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		fe.Msg = m[2]
	}
	fe.Msg = "YAML syntax error: " + fe.Msg + " (check this line's indentation, quotes and brackets)"
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxSyntaxScan {
		return fe
	}
	good := 0
	for i := range lines {
		var n yaml.Node
		if yaml.Unmarshal(bytes.Join(lines[:i+1], nil), &n) == nil {
			good = i + 1
		}
	}
	if good < len(lines) {
		fe.Line = good + 1
	}
	return fe
}

var (
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type`)
	// yaml.v3 shortens a value past 10 characters to its first 7 and "...".
	unmarshalRe = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// typeError turns one of yaml.v3's type errors ("line N: field x not found
// in type T", "line N: cannot unmarshal !!str `v` into T") into a
// FieldError with the field's full path and a message in plain words.
func typeError(m string, lines map[string]int, vals map[string]*yaml.Node) FieldError {
	fe := FieldError{Path: "(yaml)", Msg: m}
	mm := lineRe.FindStringSubmatch(m)
	if mm == nil {
		return fe
	}
	fe.Line, _ = strconv.Atoi(mm[1])
	fe.Msg = mm[2]
	if u := unknownRe.FindStringSubmatch(fe.Msg); u != nil {
		fe.Path = pathAt(lines, fe.Line, func(p string) bool { return strings.HasSuffix(p, "."+u[1]) || p == u[1] })
		fe.Msg = fmt.Sprintf("unknown field %q (check the spelling; see fundflow.example.yaml)", u[1])
		return fe
	}
	u := unmarshalRe.FindStringSubmatch(fe.Msg)
	if u == nil {
		fe.Path = pathAt(lines, fe.Line, nil)
		return fe
	}
	tag, short, goType := u[1], u[2], u[3]
	var node *yaml.Node
	for _, p := range sortedPaths(vals) {
		n := vals[p]
		if n.Line == fe.Line && sameValue(n, tag, short) {
			fe.Path, node = p, n
		}
	}
	if node == nil {
		fe.Path = pathAt(lines, fe.Line, nil)
	}
	got := map[string]string{"seq": "a list", "map": "a section of fields"}[tag]
	if got == "" {
		v := short
		if node != nil {
			v = node.Value
		}
		got = strconv.Quote(v)
	}
	fe.Msg = fmt.Sprintf("%s is not %s", got, describe(goType))
	return fe
}

// sameValue: n is the node yaml.v3 shortened to short.
func sameValue(n *yaml.Node, tag, short string) bool {
	switch tag {
	case "seq":
		return n.Kind == yaml.SequenceNode
	case "map":
		return n.Kind == yaml.MappingNode
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if p, ok := strings.CutSuffix(short, "..."); ok && len(n.Value) > 10 {
		return strings.HasPrefix(n.Value, p)
	}
	return n.Value == short
}

// describe names a Go type as the YAML value it wants.
func describe(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "time.Duration":
		return "a duration (use e.g. 5s, 2m, 1h)"
	case "int", "int64", "int32":
		return "a whole number (e.g. 500)"
	case "float64":
		return "a number (e.g. 0.2)"
	case "bool":
		return "true or false"
	case "string":
		return "a single value (quote it if it holds a colon or starts with a bracket)"
	case "[]string":
		return "a list (e.g. [a.csv, b.csv], or one \"- item\" per line)"
	}
	return "a section of fields (indented key: value lines; see fundflow.example.yaml)"
}

// pathAt is the deepest path with a key on line that ok accepts
// (deterministic when a flow mapping puts several keys on one line).
func pathAt(lines map[string]int, line int, ok func(string) bool) string {
	found := "(yaml)"
	for _, p := range sortedPaths(lines) {
		if lines[p] == line && (ok == nil || ok(p)) {
			found = p
		}
	}
	return found
}

// sortedPaths orders paths so that a child comes after its parent.
func sortedPaths[V any](m map[string]V) []string {
	ps := make([]string, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}
