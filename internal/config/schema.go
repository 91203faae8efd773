package config

import (
	_ "embed"
	"slices"
)

// schemaJSON is the JSON Schema of fundflow.yaml, for editors (the
// yaml-language-server line at the top of fundflow.example.yaml; the
// repository's fundflow.schema.json links here). It is generated from the
// Config types and their comments by TestSchemaIsGenerated (go test
// ./internal/config -run Schema -update rewrites it), which fails when a
// type changes without it.
//
//go:embed fundflow.schema.json
var schemaJSON []byte

// SchemaJSON returns the JSON Schema of fundflow.yaml (`fundflow lint
// --schema` prints it).
func SchemaJSON() []byte { return slices.Clone(schemaJSON) }
