package matrix

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/paths"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// fromFilter is a parsed Options.From.
type fromFilter struct {
	client func(*mesh.Workload) bool
	// mesh keeps the mesh paths of the clients; routes keeps gateway routes.
	mesh, routes bool
}

// parseFrom parses --from: "external", NS/NAME or NS. nil means every client.
func parseFrom(x *mesh.Index, from string) (*fromFilter, error) {
	switch {
	case from == "":
		return nil, nil
	case from == trace.External:
		// The gateways are the clients of their routes.
		return &fromFilter{client: func(*mesh.Workload) bool { return true }, routes: true}, nil
	case strings.Contains(from, "/"):
		w, err := trace.FindWorkload(x, from)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		// A gateway's own routes are what it sends: --from the gateway keeps
		// them along with its mesh calls.
		return &fromFilter{client: func(c *mesh.Workload) bool { return c == w }, mesh: true, routes: true}, nil
	default:
		if x.Namespace(from) == nil && len(x.WorkloadsIn(from)) == 0 {
			return nil, fmt.Errorf("--from: no namespace %q in the input (want NAMESPACE, NAMESPACE/WORKLOAD or %q)", from, trace.External)
		}
		return &fromFilter{client: func(c *mesh.Workload) bool { return c.Namespace == from }, mesh: true}, nil
	}
}

// toFilter is a parsed Options.To.
type toFilter struct {
	service func(*mesh.Service) bool
	port    int32 // 0: every port
}

func (f toFilter) keepPort(g *paths.Group) bool {
	if f.service == nil {
		return true
	}
	if g.Service == nil || !f.service(g.Service) {
		// A route that reaches no Service is kept by paths.All; a --to
		// names a Service, so it does not match.
		return false
	}
	return f.port == 0 || (g.Port != nil && g.Port.Port == f.port)
}

// parseTo parses --to: NS/NAME[:PORT], NAME.NS[:PORT], an FQDN[:PORT], or NS.
func parseTo(x *mesh.Index, to string) (toFilter, error) {
	if to == "" {
		return toFilter{}, nil
	}
	name, port := to, int32(0)
	if i := strings.LastIndex(to, ":"); i >= 0 {
		n, err := strconv.ParseInt(to[i+1:], 10, 32)
		if err != nil || n <= 0 || n > 65535 {
			return toFilter{}, fmt.Errorf("--to %q: the port after ':' must be a number from 1 to 65535", to)
		}
		name, port = to[:i], int32(n)
	}
	var svc *mesh.Service
	switch {
	case strings.Contains(name, "/"):
		ns, n, _ := strings.Cut(name, "/")
		svc = x.Service(ns, n)
	case strings.Contains(name, "."):
		svc = x.ServiceByHost(name)
		if svc == nil {
			n, ns, _ := strings.Cut(name, ".")
			ns, _, _ = strings.Cut(ns, ".")
			svc = x.Service(ns, n)
		}
	default:
		if port == 0 && len(x.ServicesIn(name)) > 0 {
			return toFilter{service: func(s *mesh.Service) bool { return s.Namespace == name }}, nil
		}
	}
	if svc == nil {
		return toFilter{}, fmt.Errorf("--to: no Service %q in the input (want NAMESPACE/SERVICE[:PORT], SERVICE.NAMESPACE[:PORT], an FQDN, or NAMESPACE)", name)
	}
	if port != 0 && svc.Port(port) == nil {
		var ports []string
		for _, p := range svc.Ports {
			ports = append(ports, strconv.Itoa(int(p.Port)))
		}
		return toFilter{}, fmt.Errorf("--to: Service %s has no port %d (its ports: %s)", svc.Key(), port, strings.Join(ports, ", "))
	}
	return toFilter{service: func(s *mesh.Service) bool { return s == svc }, port: port}, nil
}
