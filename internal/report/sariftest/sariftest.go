// Package sariftest validates SARIF logs against the OASIS SARIF 2.1.0 schema
// (sarif-schema-2.1.0.json, the errata01 schema as vendored by
// securego/gosec), for the tests of every command that writes SARIF.
package sariftest

import (
	"bytes"
	_ "embed"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed sarif-schema-2.1.0.json
var schemaJSON []byte

var schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("sarif-schema-2.1.0.json")
})

// Validate fails the test when log is not a valid SARIF 2.1.0 document.
func Validate(t testing.TB, name string, log []byte) {
	t.Helper()
	if err := Check(log); err != nil {
		t.Errorf("%s: SARIF output does not validate: %v", name, err)
	}
}

// Check returns why log is not a valid SARIF 2.1.0 document (nil when it is).
func Check(log []byte) error {
	s, err := schema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		return err
	}
	return s.Validate(v)
}
