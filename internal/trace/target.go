package trace

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// Target is a parsed TO argument.
type Target struct {
	Raw    string
	Scheme string // http, https, or "" for HOST:PORT
	Host   string
	Port   int32 // 0 when not given and not implied by the scheme
	Path   string
}

// ParseTarget parses a URL (http://HOST[:PORT]/PATH, https://...) or HOST:PORT.
func ParseTarget(raw string) (Target, error) {
	t := Target{Raw: raw, Path: "/"}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return t, fmt.Errorf("TO %q is not a URL: %v", raw, err)
		}
		t.Scheme = strings.ToLower(u.Scheme)
		if t.Scheme != "http" && t.Scheme != "https" {
			return t, fmt.Errorf("TO %q: scheme %q is not http or https", raw, u.Scheme)
		}
		t.Host = u.Hostname()
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return t, fmt.Errorf("TO %q: port %q is not a port number", raw, p)
			}
			t.Port = int32(n)
		} else if t.Scheme == "http" {
			t.Port = 80
		} else {
			t.Port = 443
		}
		if u.EscapedPath() != "" {
			t.Path = u.EscapedPath()
		}
		if u.RawQuery != "" {
			t.Path += "?" + u.RawQuery
		}
	} else {
		host, port, err := net.SplitHostPort(raw)
		if err != nil {
			// A bare host: the port is the service's only port, if it has one.
			if strings.ContainsAny(raw, "/ ") || raw == "" {
				return t, fmt.Errorf("TO %q is neither a URL (http://HOST[:PORT]/PATH) nor HOST:PORT", raw)
			}
			t.Host = raw
			return t, nil
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("TO %q: port %q is not a port number", raw, port)
		}
		t.Host, t.Port = host, int32(n)
	}
	if t.Host == "" {
		return t, fmt.Errorf("TO %q has no host", raw)
	}
	return t, nil
}

// External is the FROM value for a client outside the cluster.
const External = "external"

// FindWorkload resolves FROM (NAMESPACE/WORKLOAD, optionally NAMESPACE/KIND/NAME).
// When nothing matches, the error lists close matches.
func FindWorkload(x *mesh.Index, from string) (*mesh.Workload, error) {
	parts := strings.Split(from, "/")
	var ns, kind, name string
	switch len(parts) {
	case 2:
		ns, name = parts[0], parts[1]
	case 3:
		ns, kind, name = parts[0], parts[1], parts[2]
	default:
		return nil, fmt.Errorf("FROM %q must be NAMESPACE/WORKLOAD or %q", from, External)
	}
	if w := x.Workload(ns, name, kind); w != nil {
		return w, nil
	}
	var keys []string
	for _, w := range x.Workloads {
		keys = append(keys, w.Namespace+"/"+w.Name)
	}
	msg := fmt.Sprintf("no workload %q in the input", from)
	if close := closeMatches(from, keys, 5); len(close) > 0 {
		msg += "; did you mean " + strings.Join(close, ", ") + "?"
	} else if in := x.WorkloadsIn(ns); len(in) > 0 {
		var names []string
		for _, w := range in {
			if len(names) == 5 {
				names = append(names, "...")
				break
			}
			names = append(names, w.Key())
		}
		msg += "; the workloads of namespace " + ns + " are " + strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("%s", msg)
}

// closeMatches returns up to n candidates nearest to s by edit distance (or
// sharing its name part), nearest first.
func closeMatches(s string, candidates []string, n int) []string {
	type scored struct {
		c string
		d int
	}
	var out []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		ls, lc := strings.ToLower(s), strings.ToLower(c)
		ns, base := splitLast(ls)
		cns, cbase := splitLast(lc)
		// In the namespace typed, compare names: a third of the name may be
		// wrong (a typo, not another workload). Across namespaces, compare
		// the whole key with a tighter limit.
		d, limit := EditDistance(ls, lc), len(ls)/4+1
		if ns == cns {
			d, limit = EditDistance(base, cbase), len(base)/3+1
		}
		if base != "" && strings.Contains(cbase, base) {
			out = append(out, scored{c, 0}) // the name typed is part of it: nearest
		} else if d <= limit {
			out = append(out, scored{c, d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].c < out[j].c
	})
	var res []string
	for i := 0; i < len(out) && i < n; i++ {
		res = append(res, out[i].c)
	}
	return res
}

// splitLast splits "ns/name" at its last slash ("" and s without one).
func splitLast(s string) (string, string) {
	i := strings.LastIndex(s, "/")
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+1:]
}

// EditDistance is the Levenshtein distance between a and b, for "did you
// mean" suggestions.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
