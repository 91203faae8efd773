package config

import (
	"bytes"
	"errors"

	"gopkg.in/yaml.v3"
)

// Doc is a decoded YAML document other than fundflow.yaml (a fraud rule
// file, ...) that wants the config's error messages: field paths with
// lines, yaml.v3's type errors in plain words, syntax errors at their real
// line.
type Doc struct {
	lines map[string]int
}

// Line is the line of path (a dotted path with [i] for list items, as in
// FieldError.Path), or of its nearest present parent; 0 when unknown.
func (d Doc) Line(path string) int { return lineOf(d.lines, path) }

// Parsed: the data was YAML (false after a syntax error or an empty file,
// when nothing was decoded).
func (d Doc) Parsed() bool { return d.lines != nil }

// DecodeStrict decodes data into v, refusing unknown fields. A syntax
// error is the only problem returned; type errors come back all at once,
// each naming its field and line. An empty document is an error.
func DecodeStrict(data []byte, v any) (Doc, []FieldError) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Doc{}, []FieldError{syntaxError(data, err)}
	}
	if len(root.Content) == 0 {
		return Doc{}, []FieldError{{Path: "(yaml)", Line: 1, Msg: "the file is empty"}}
	}
	lines := map[string]int{}
	vals := map[string]*yaml.Node{}
	index(&root, "", lines, vals)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []FieldError
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return Doc{}, []FieldError{syntaxError(data, err)}
		}
		for _, m := range te.Errors {
			errs = append(errs, typeError(m, lines, vals))
		}
	}
	return Doc{lines: lines}, errs
}
