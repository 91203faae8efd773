package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invopop/jsonschema"
	sjson "github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite fundflow.schema.json from the Config types")

// durationPattern is what yaml.v3 reads into a time.Duration here: Go's
// duration syntax ("90s", "1h30m", "0"), as a string.
const durationPattern = `^-?(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// generateSchema reflects the JSON Schema of fundflow.yaml from the Config
// types (field names from the yaml tags, unknown fields refused as
// config.Parse refuses them, durations as Go duration strings) with the
// types' and fields' comments from this package's source as descriptions.
// It lives in a test so that the binary does not carry the reflector: the
// binary embeds its output (schema.go).
func generateSchema(t *testing.T) []byte {
	t.Helper()
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true, // every section and field may be left out
		Mapper: func(ty reflect.Type) *jsonschema.Schema {
			if ty == reflect.TypeOf(time.Duration(0)) {
				return &jsonschema.Schema{Type: "string", Pattern: durationPattern, Description: "a Go duration: 90s, 5m, 1h30m"}
			}
			return nil
		},
	}
	if err := r.AddGoComments("github.com/fundflow/fundflow/internal/config", "."); err != nil {
		t.Fatal(err)
	}
	s := r.Reflect(&Config{})
	s.ID = "https://fundflow.dev/fundflow.schema.json"
	s.Title = "fundflow.yaml"
	s.Description = "The pipeline config of fundflow (see fundflow.example.yaml). Secrets never live here: it names the environment variables that hold them."
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// The committed schema is the one the types give: a field added, renamed
// or retyped without regenerating it fails here (-update rewrites it).
func TestSchemaIsGenerated(t *testing.T) {
	got := generateSchema(t)
	if *update {
		if err := os.WriteFile("fundflow.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, schemaJSON) {
		t.Fatalf("fundflow.schema.json differs from the Config types: run go test ./internal/config -run TestSchemaIsGenerated -update")
	}
	// The repository's fundflow.schema.json (the example config's $schema)
	// is this file.
	root, err := os.ReadFile("../../fundflow.schema.json")
	if err != nil || !bytes.Equal(root, schemaJSON) {
		t.Fatalf("../../fundflow.schema.json is not internal/config/fundflow.schema.json: %v", err)
	}
}

// compiled is the committed schema, compiled by an independent validator.
func compiled(t *testing.T) *sjson.Schema {
	t.Helper()
	doc, err := sjson.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := sjson.NewCompiler()
	if err := c.AddResource("fundflow.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("fundflow.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asJSON reads YAML as the JSON value an editor's validator sees.
func asJSON(t *testing.T, y []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sjson.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// shellVar is a $NAME or ${NAME} in a demo script's heredoc.
var shellVar = regexp.MustCompile(`\$\{?[A-Z_]+\}?`)

// heredoc is the config a demo script writes with cat > FILE <<YAML.
func heredoc(t *testing.T, script, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), `cat > "`+file+`" <<YAML`+"\n")
	body, _, ok2 := strings.Cut(rest, "\nYAML\n")
	if !ok || !ok2 {
		t.Fatalf("%s: no heredoc writing %s", script, file)
	}
	return []byte(shellVar.ReplaceAllString(body, "/x"))
}

// The example config and the demo's configs validate against the schema,
// and config.Parse takes each (the schema is no stricter than fundflow); a
// config with an unknown field, a duration that is not one or a string for
// a number does not validate, as Parse refuses it too.
func TestConfigsValidateAgainstTheSchema(t *testing.T) {
	s := compiled(t)
	example, err := os.ReadFile("../../fundflow.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, y := range map[string][]byte{
		"fundflow.example.yaml":            example,
		"scripts/demo.sh fundflow.yaml":    heredoc(t, "../../scripts/demo.sh", "$DEMO/fundflow.yaml"),
		"scripts/demo_recon.sh recon.yaml": heredoc(t, "../../scripts/demo_recon.sh", "$DEMO/recon.yaml"),
	} {
		if err := s.Validate(asJSON(t, y)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// Parse also checks that the files named exist; the test cannot
		// provide the demo's: those problems aside, it takes each config.
		if _, err := Parse(name, y); err != nil {
			var ce *Errors
			if !errors.As(err, &ce) {
				t.Fatalf("%s: config.Parse: %v", name, err)
			}
			for _, fe := range ce.List {
				if !strings.Contains(fe.Msg, "no such file or directory") {
					t.Errorf("%s: config.Parse: %s", name, fe)
				}
			}
		}
	}
	for name, y := range map[string]string{
		"unknown field": "pipelines:\n  nav-ingest:\n    sorce: {}\n",
		"bad duration":  "pipelines:\n  nav-ingest:\n    freshness_sla: 5 minutes\n",
		"bad number":    "pipelines:\n  nav-ingest:\n    batch_size: many\n",
		"unknown top":   "pipeline: {}\n",
	} {
		if err := s.Validate(asJSON(t, []byte(y))); err == nil {
			t.Errorf("%s: valid against the schema", name)
		}
		if _, err := Parse(name, []byte(y)); err == nil {
			t.Errorf("%s: config.Parse took it", name)
		}
	}
}
