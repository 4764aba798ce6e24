package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/cli"
)

// As a kubectl plugin meshdoctor reads the cluster: with no kubeconfig at all
// it says so, instead of asking for -f.
func TestPluginReadsTheCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", t.TempDir()+"/none")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), pluginArgs([]string{"inventory"}), strings.NewReader(""), &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "no cluster configured") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	// --kube=false after the plugin's --kube reads manifests only.
	errb.Reset()
	code = cli.Main(context.Background(), pluginArgs([]string{"--kube=false", "inventory"}), strings.NewReader(""), &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "no input") {
		t.Errorf("--kube=false: exit %d, stderr %q", code, errb.String())
	}
}
