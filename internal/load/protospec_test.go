package load

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// decodeBothWays decodes data with and without decodeSpec.
func decodeBothWays(name string, data []byte) (fast, slow Result) {
	defer func(v bool) { fastSpec = v }(fastSpec)
	fastSpec = true
	Decode(name, data, &fast)
	fastSpec = false
	Decode(name, data, &slow)
	return fast, slow
}

// sameResult says how two results of one input differ, or "".
func sameResult(fast, slow *Result) string {
	if a, b := fmt.Sprint(errorStrings(fast.Errors)), fmt.Sprint(errorStrings(slow.Errors)); a != b {
		return "errors: " + a + " vs " + b
	}
	if a, b := fmt.Sprint(errorStrings(fast.Warnings)), fmt.Sprint(errorStrings(slow.Warnings)); a != b {
		return "warnings: " + a + " vs " + b
	}
	if len(fast.Objects) != len(slow.Objects) {
		return fmt.Sprintf("%d objects vs %d", len(fast.Objects), len(slow.Objects))
	}
	for i, f := range fast.Objects {
		s := slow.Objects[i]
		if f.Key() != s.Key() || f.Pos != s.Pos || f.Fields.String() != s.Fields.String() {
			return fmt.Sprintf("object %d: %s at %s vs %s at %s", i, f.Key(), f.Pos, s.Key(), s.Pos)
		}
		fj, err1 := json.Marshal(f.Typed)
		sj, err2 := json.Marshal(s.Typed)
		if err1 != nil || err2 != nil || string(fj) != string(sj) {
			return fmt.Sprintf("%s: %s vs %s (%v, %v)", f.Key(), fj, sj, err1, err2)
		}
		if fm, sm := specMessage(f.Typed), specMessage(s.Typed); (fm == nil) != (sm == nil) || fm != nil && !proto.Equal(fm.Interface(), sm.Interface()) {
			return fmt.Sprintf("%s: spec %v vs %v", f.Key(), fm, sm)
		}
	}
	return ""
}

// TestDecodeSpecAsJSONPB: reading specs from the YAML values gives what jsonpb
// gives, values, errors, lines and warnings, on plain and on odd specs.
func TestDecodeSpecAsJSONPB(t *testing.T) {
	specs := []string{
		"{mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: DISABLE}, \"9090\": {mode: PERMISSIVE}}}",
		"{mtls: {mode: STRCT}}",
		"{mtls: {mode: 2}}",
		"{mtls: {mode: 99}}",
		"{mtls: {mode: null}, selector: null}",
		"{mtls: [STRICT]}",
		"{portLevelMtls: {-1: {mode: STRICT}}}",
		"{portLevelMtls: {08080: {mode: STRICT}}}",
		"{portLevelMtls: {4294967296: {mode: STRICT}}}",
		"{portLevelMtls: {\" 80\": {mode: STRICT}}}",
		"{portLevelMtls: {80: null}}",
		"{port_level_mtls: {80: {mode: STRICT}}, portLevelMtls: {81: {mode: DISABLE}}}",
		"{portLevelMTLS: {80: {mode: STRICT}}}",
		"{selector: {matchLabels: {app: a, version: 1}}}",
		"{selector: {matchLabels: {app: yes}}}",
		"{\"[ext.name]\": 1}",
	}
	drs := []string{
		"{host: a, trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: x}, connectionPool: {tcp: {connectTimeout: 5s, maxConnections: 100}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {connectTimeout: 1m30s}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {connectTimeout: 5}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {connectTimeout: \"-0s\", maxConnections: \"12\"}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {maxConnections: \"1e2\"}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {maxConnections: 1.0}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {maxConnections: 3000000000}}}}",
		"{host: a, trafficPolicy: {connectionPool: {tcp: {maxConnections: \"-0\"}}}}",
		"{host: a, trafficPolicy: {connectionPool: {http: {useClientProtocol: yes, idleTimeout: 1h}}}}",
		"{host: a, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 10s}}}",
		"{host: a, trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST, consistentHash: {httpHeaderName: x}}}}",
		"{host: a, trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x, useSourceIp: true}}}}",
		"{host: a, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5, maxEjectionPercent: 50, minHealthPercent: 0.5}}}",
		"{host: a, trafficPolicy: {outlierDetection: {consecutive5xxErrors: -1}}}",
		"{host: a, trafficPolicy: {outlierDetection: {consecutive5xxErrors: null}}}",
		"{host: a, trafficPolicy: {portLevelSettings: [{port: {number: 80}, tls: {mode: DISABLE}}, null]}}",
		"{host: a, subsets: [{name: v1, labels: {version: v1}}, {name: v2}]}",
		"{host: a, subsets: []}",
		"{host: a, subsets: {name: v1}}",
		"{host: a, exportTo: [\".\", \"*\"]}",
		"{host: a, exportTo: [., null]}",
		"{host: 12}",
		"{host: \"\\u00e9t\\u00e9\"}",
		"{host: a, trafficPolicy: {tls: {caCertificates: /c, subjectAltNames: [x, y], insecureSkipVerify: false}}}",
	}
	var b strings.Builder
	for i, s := range specs {
		fmt.Fprintf(&b, "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p%d}\nspec: %s\n---\n", i, s)
	}
	for i, s := range drs {
		fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: d%d}\nspec: %s\n---\n", i, s)
	}
	fast, slow := decodeBothWays("s.yaml", []byte(b.String()))
	if d := sameResult(&fast, &slow); d != "" {
		t.Error(d)
	}
	if len(slow.Errors) == 0 || len(slow.Objects) < len(specs)/2 {
		t.Errorf("the cases should load and fail: %d objects, errors %v", len(slow.Objects), errorStrings(slow.Errors))
	}

	// The usual specs take the fast way.
	for _, c := range []struct {
		spec protoreflect.Message
		v    string
	}{
		{specMessage(&securityv1.PeerAuthentication{}), specs[0]},
		{specMessage(&networkingv1.DestinationRule{}), drs[0]},
		{specMessage(&networkingv1.DestinationRule{}), drs[16]},
	} {
		v, err := yamlValue(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if !decodeSpec(c.spec, v) {
			t.Errorf("%s: read the slow way", c.v)
		}
	}
}

// yamlValue converts a YAML mapping as the loader does.
func yamlValue(s string) (map[string]any, error) {
	var out map[string]any
	c := chunk{data: []byte(s), firstLine: 1}
	lm := newLineMap(c)
	err := eachDocument(c, lm, func(doc *yaml.Node) {
		v, cerr := newConverter(lm).value(resolve(doc), "")
		if cerr == nil {
			out, _ = v.(map[string]any)
		}
	})
	if err != nil || out == nil {
		return nil, fmt.Errorf("%s: not a mapping (%v)", s, err)
	}
	return out, nil
}

// TestDecodeSpecOnTestData: every test file loads the same both ways.
func TestDecodeSpecOnTestData(t *testing.T) {
	var files []string
	for _, pat := range []string{"testdata/*/*.yaml", "testdata/*/*/*.yaml", "testdata/*/*/*/*.yaml"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d test files", len(files))
	}
	files = append(files, "realistic")
	for _, f := range files {
		data := realisticStream(20)
		if f != "realistic" {
			var err error
			if data, err = os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
		fast, slow := decodeBothWays(f, data)
		if d := sameResult(&fast, &slow); d != "" {
			t.Errorf("%s: %s", f, d)
		}
	}
}
