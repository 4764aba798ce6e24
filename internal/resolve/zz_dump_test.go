package resolve
import ("testing";"fmt")
func TestZZDump(t *testing.T) {
	e := secFixture(t, "incident.yaml", "")
	for _, k := range []string{"titanium-prod/prod-blog-service", "titanium-prod/prod-postgres"} {
		w := secWorkload(t, e, k)
		fmt.Println(secDump(e.Sidecar(w).Decision))
		fmt.Println(secDump(e.ServerMTLS(w, 8005).Decision))
		fmt.Println(secDump(e.ServerMTLS(w, 5432).Decision))
	}
	gw := secWorkload(t, e, "istio-system/istio-ingressgateway")
	for _, s := range []string{"titanium-prod/prod-blog-service", "titanium-prod/prod-postgres"} {
		svc := secService(t, e, s)
		fmt.Println(secDump(e.DestinationRule(gw, svc.Host).Decision))
		for _, ep := range e.secServiceInfo(svc).endpoints {
			tls := e.ClientTLS(gw, svc, &svc.Ports[0], "", ep, svc.Ports[0].TargetPort.IntVal)
			fmt.Println(tls.Mode, tls.SANs, tls.SNI, secDump(tls.Decision))
			acc := e.ServerAccepts(ep, svc.Ports[0].TargetPort.IntVal, tls, "http")
			fmt.Println(acc.Accepted, acc.Cause, acc.Security, secDump(acc.Decision))
		}
	}
}
