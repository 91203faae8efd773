package main

import (
	"encoding/json"
	"flag"
	"io"
)

// newFlags is a command's flag set: a bad flag comes back as an error and
// prints nothing, the command answers with its own usage.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// printJSON writes a command's result as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
