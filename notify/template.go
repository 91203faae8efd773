package notify

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

//go:embed templates/*.tmpl
var builtin embed.FS

// Builtin is the templates shipped with the binary.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtin, "templates")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Template is one version of one event type's message on one channel. A
// file is named <event type>.<channel>.v<N>.tmpl; an email's first line is
// "Subject: …" and a push message's "Title: …", then a blank line, then the
// body.
type Template struct {
	EventType string
	Channel   Channel
	Version   int
	subject   *template.Template // email subject / push title; nil for SMS
	body      *template.Template
}

// Name is "<event type>.<channel>@v<N>", as recorded on each notification.
func (t *Template) Name() string {
	return fmt.Sprintf("%s.%s@v%d", t.EventType, t.Channel, t.Version)
}

// Templates holds the newest version of each (event type, channel).
type Templates struct {
	byKey map[string]*Template
}

var fileName = regexp.MustCompile(`^([a-z0-9_.]+)\.(email|sms|push)\.v([0-9]+)\.tmpl$`)

// LoadTemplates parses every *.tmpl in fsys and checks each against its
// event type's data: a field the data does not have, an unknown event type,
// a missing subject, or an event type without an email template is an
// error here, at load (and so in `fundflow lint`), never at send time.
func LoadTemplates(fsys fs.FS) (*Templates, error) {
	names, err := fs.Glob(fsys, "*.tmpl")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	ts := &Templates{byKey: map[string]*Template{}}
	var errs []string
	for _, name := range names {
		t, err := loadOne(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		key := t.EventType + "/" + string(t.Channel)
		if old := ts.byKey[key]; old == nil || old.Version < t.Version {
			ts.byKey[key] = t
		}
	}
	for _, s := range Specs() {
		if ts.byKey[s.Type+"/"+string(Email)] == nil {
			errs = append(errs, fmt.Sprintf("%s: no email template (every event type needs one: email is the default channel)", s.Type))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("notify templates:\n  %s", strings.Join(errs, "\n  "))
	}
	return ts, nil
}

func loadOne(fsys fs.FS, name string) (*Template, error) {
	m := fileName.FindStringSubmatch(name)
	if m == nil {
		return nil, fmt.Errorf("name must be <event type>.<email|sms|push>.v<N>.tmpl")
	}
	spec, ok := SpecOf(m[1])
	if !ok {
		return nil, fmt.Errorf("unknown event type %q (known: %s)", m[1], strings.Join(SpecTypes(), ", "))
	}
	v, _ := strconv.Atoi(m[3])
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	t := &Template{EventType: m[1], Channel: Channel(m[2]), Version: v}
	text := string(raw)
	if t.Channel != SMS {
		head := map[Channel]string{Email: "Subject: ", Push: "Title: "}[t.Channel]
		first, rest, _ := strings.Cut(text, "\n")
		if !strings.HasPrefix(first, head) {
			return nil, fmt.Errorf("line 1: must start with %q", head)
		}
		if t.subject, err = parseChecked(name+":subject", strings.TrimPrefix(first, head), spec.Sample); err != nil {
			return nil, err
		}
		text = strings.TrimPrefix(rest, "\n")
	}
	if t.body, err = parseChecked(name, text, spec.Sample); err != nil {
		return nil, err
	}
	return t, nil
}

// parseChecked parses text and checks every field it names (in every
// branch, not only those a sample run takes) against sample's type, then
// runs it once on the sample.
func parseChecked(name, text string, sample any) (*template.Template, error) {
	tm, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	typ := reflect.TypeOf(sample)
	var bad []string
	walk(tm.Tree.Root, func(idents []string) {
		if _, ok := typ.FieldByName(idents[0]); !ok {
			bad = append(bad, idents[0])
		}
	})
	if len(bad) > 0 {
		return nil, fmt.Errorf("field %s is not in the %s data (it has: %s)", strings.Join(bad, ", "), typ.Name(), strings.Join(fieldNames(typ), ", "))
	}
	if err := tm.Execute(&bytes.Buffer{}, sample); err != nil {
		return nil, err
	}
	return tm, nil
}

// walk calls f with the identifiers of every .Field in the tree.
func walk(n parse.Node, f func([]string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				walk(c, f)
			}
		}
	case *parse.ActionNode:
		walk(n.Pipe, f)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				walk(c, f)
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walk(a, f)
		}
	case *parse.FieldNode:
		f(n.Ident)
	case *parse.IfNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.WithNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.RangeNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	}
}

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, fieldNames(f.Type)...)
			continue
		}
		out = append(out, f.Name)
	}
	return out
}

// Lookup returns the newest template of (event type, channel).
func (ts *Templates) Lookup(eventType string, ch Channel) (*Template, bool) {
	t, ok := ts.byKey[eventType+"/"+string(ch)]
	return t, ok
}

// panPattern is an Indian PAN (AAAAA9999A): no message may carry one.
var panPattern = regexp.MustCompile(`\b[A-Z]{5}[0-9]{4}[A-Z]\b`)

// Render writes the subject (email, push) and body for data, refusing a
// text that shows a PAN or any of the secrets (the full folio, the bank
// account) the caller names: masking is checked on the output too.
func (t *Template) Render(data any, secrets ...string) (subject, body string, err error) {
	var b bytes.Buffer
	if t.subject != nil {
		if err := t.subject.Execute(&b, data); err != nil {
			return "", "", fmt.Errorf("template %s: %w", t.Name(), err)
		}
		subject = strings.TrimSpace(b.String())
		b.Reset()
	}
	if err := t.body.Execute(&b, data); err != nil {
		return "", "", fmt.Errorf("template %s: %w", t.Name(), err)
	}
	body = b.String()
	for _, s := range []string{subject, body} {
		if panPattern.MatchString(s) {
			return "", "", fmt.Errorf("template %s: the text shows a PAN", t.Name())
		}
		for _, sec := range secrets {
			if len(sec) > 4 && strings.Contains(s, sec) {
				return "", "", fmt.Errorf("template %s: the text shows an unmasked folio or account number", t.Name())
			}
		}
	}
	return subject, body, nil
}
