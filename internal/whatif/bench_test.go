package whatif

import (
	"testing"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// BenchmarkWhatifDR10k judges one DestinationRule change on the
// 10,000-service generated mesh (gen Seed 1): a service's rule turned to
// tls DISABLE. Only the Services whose requests that rule can decide, and the
// gateway routes, are recomputed; the time includes indexing the mesh before
// and after (decoding is not timed).
//
//	go test ./internal/whatif -run '^$' -bench WhatifDR10k -benchtime 3x -benchmem
func BenchmarkWhatifDR10k(b *testing.B) {
	m, err := genmesh.Mesh10k()
	if err != nil {
		b.Fatal(err)
	}
	objs10k := m.Load.Objects
	var change *objects.Object
	for _, o := range objs10k {
		dr, ok := o.Typed.(*networkingv1.DestinationRule)
		if !ok || dr.Spec.GetWorkloadSelector() != nil || len(dr.Spec.GetHost()) == 0 || dr.Spec.GetHost()[0] == '*' {
			continue
		}
		c := *o
		ndr := dr.DeepCopy()
		if ndr.Spec.TrafficPolicy == nil {
			ndr.Spec.TrafficPolicy = &networking.TrafficPolicy{}
		}
		ndr.Spec.TrafficPolicy.Tls = &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_DISABLE}
		c.Typed = ndr
		change = &c
		break
	}
	if change == nil {
		b.Fatal("no DestinationRule with an exact host in the generated mesh")
	}
	b.ReportAllocs()
	b.ResetTimer()
	var r *Report
	for i := 0; i < b.N; i++ {
		var err error
		r, err = Run(Input{Base: objs10k, Change: []*objects.Object{change}}, Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(r.Scope.Services), "services")
	b.ReportMetric(float64(r.Scope.Traces), "traces")
	b.ReportMetric(float64(r.Summary.Compared), "paths")
	b.ReportMetric(float64(r.Summary.Broken+r.Summary.NewlyDenied), "broken")
}
