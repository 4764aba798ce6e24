package explain

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Formats of an input.
const (
	FormatEnvoyBody     = "envoy-body"
	FormatAccessLog     = "access-log"
	FormatAccessLogJSON = "access-log-json"
	FormatCurl          = "curl"
)

// Part is one piece of the input and what it means.
type Part struct {
	Field   Field  `json:"field"`
	Text    string `json:"text"`
	Meaning string `json:"meaning"`
	// Rows are the IDs of the table rows the part matched.
	Rows []string `json:"rows,omitempty"`
}

// Parsed is what explain read from the input.
type Parsed struct {
	Format        string `json:"format"`
	HTTPStatus    int    `json:"http_status,omitempty"`
	ResponseFlags string `json:"response_flags,omitempty"`
	Details       string `json:"response_code_details,omitempty"`
	ResetReason   string `json:"reset_reason,omitempty"`
	FailureReason string `json:"failure_reason,omitempty"`
	Retried       bool   `json:"retried,omitempty"`
	Cluster       string `json:"cluster,omitempty"`
	// Direction, Host, Port and Subset are read from Cluster
	// (direction|port|subset|host, Istio's BuildSubsetKey).
	Direction    string `json:"direction,omitempty"`
	Host         string `json:"host,omitempty"`
	Port         int    `json:"port,omitempty"`
	Subset       string `json:"subset,omitempty"`
	Method       string `json:"method,omitempty"`
	Path         string `json:"path,omitempty"`
	Authority    string `json:"authority,omitempty"`
	UpstreamHost string `json:"upstream_host,omitempty"`
	CurlExit     int    `json:"curl_exit,omitempty"`
	Parts        []Part `json:"parts"`
	// logLines counts the access-log lines of the input; only the first is read.
	logLines int
}

// ErrNotRecognised says the text has nothing explain knows.
var ErrNotRecognised = errors.New("nothing in the text is an Envoy response body, a curl error or an Istio access-log line that explain knows; give the exact text (see docs/explain.md for what it reads)")

// Normalize is the form rows match against: lower case, underscores as spaces
// (Envoy's access log writes spaces of these values as underscores).
func Normalize(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", " ")) }

var (
	reLogStart   = regexp.MustCompile(`^\[[^\]]+\] "`)
	reBodyPrefix = regexp.MustCompile(`(?i)upstream connect error or disconnect/reset before headers`)
	reRetried    = regexp.MustCompile(`(?i)retried and the latest`)
	reReset      = regexp.MustCompile(`(?i)reset reason: ([^,\n]+)`)
	reTransport  = regexp.MustCompile(`(?i)transport failure reason: ([^\n]+)`)
	reBareReason = regexp.MustCompile(`(?i)(delayed[ _]connect[ _]error:[ _][^\s,"}]+(?:[ _]refused)?|TLS[ _]error:[^\s"}]+)`)
	reBodyOther  = regexp.MustCompile(`(?i)(no healthy upstream|RBAC: access denied|upstream request timeout)`)
	reCurl       = regexp.MustCompile(`(?i)(?:curl: )?\((\d{1,2})\)[^\n]*`)
	reHTTPStatus = regexp.MustCompile(`HTTP/\d(?:\.\d)? (\d{3})\b`)
	reCluster    = regexp.MustCompile(`^(outbound|inbound)\|(\d+)\|([^|]*)\|(.*)$`)
	reDetailWord = regexp.MustCompile(`(upstream_reset_before_response_started\{[^}\s]*\}|rbac_access_denied_matched_policy\[[^\]\s]*\]|\b(?:no_healthy_upstream|route_not_found|cluster_not_found|filter_chain_not_found|ext_authz_denied|direct_response|via_upstream)\b)`)
	reResetInner = regexp.MustCompile(`^upstream_reset_before_response_started\{([^,}]*)(?:,(.*))?\}$`)
)

// Parse reads an Envoy response body, a curl error, or an Istio access-log
// line (TEXT or JSON encoding).
func Parse(text string) (*Parsed, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("empty text: give an Envoy response body, a curl error or an access-log line")
	}
	p := &Parsed{}
	var rest []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case reLogStart.MatchString(line):
			p.logLines++
			if p.logLines == 1 {
				p.Format = FormatAccessLog
				p.parseLogLine(line)
			}
		case strings.HasPrefix(line, "{") && strings.Contains(line, "response_flags"):
			p.logLines++
			if p.logLines == 1 {
				if err := p.parseJSONLine(line); err != nil {
					return nil, err
				}
			}
		default:
			rest = append(rest, line)
		}
	}
	p.parseFreeText(strings.Join(rest, "\n"))
	if len(p.Parts) == 0 {
		return nil, ErrNotRecognised
	}
	p.match()
	if !p.recognised() {
		return nil, ErrNotRecognised
	}
	return p, nil
}

func (p *Parsed) recognised() bool {
	for _, part := range p.Parts {
		if len(part.Rows) > 0 {
			return true
		}
	}
	return false
}

func (p *Parsed) add(f Field, text string) {
	text = strings.TrimSpace(text)
	if text == "" || text == "-" && f != FieldFlag {
		return
	}
	n := Normalize(text)
	for _, q := range p.Parts {
		if q.Field == f && Normalize(q.Text) == n {
			return
		}
	}
	p.Parts = append(p.Parts, Part{Field: f, Text: text})
}

// logTokens splits a TEXT access-log line into [bracketed], "quoted" and bare
// tokens.
func logTokens(line string) []string {
	var out []string
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ':
			i++
		case c == '[' || c == '"':
			end := byte(']')
			if c == '"' {
				end = '"'
			}
			j := strings.IndexByte(line[i+1:], end)
			if j < 0 {
				out = append(out, line[i:])
				return out
			}
			out = append(out, line[i:i+j+2])
			i += j + 2
		default:
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				out = append(out, line[i:])
				return out
			}
			out = append(out, line[i:i+j])
			i += j
		}
	}
	return out
}

func quoted(t string) bool { return len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' }
func unquote(t string) string {
	if quoted(t) {
		return t[1 : len(t)-1]
	}
	return t
}

// parseLogLine reads Istio's default TEXT format (1.9 and later):
//
//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
//	%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED%
//	%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//	"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS%
//	%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%
//
// (istio pilot/pkg/model/telemetry_logging.go EnvoyTextLogFormat). A line in
// another layout still gives its code, flags and details (the first fields are
// the same in every Istio version) and the cluster, found by its shape.
func (p *Parsed) parseLogLine(line string) {
	tk := logTokens(line)
	get := func(i int) string {
		if i < len(tk) {
			return tk[i]
		}
		return ""
	}
	if req := strings.Fields(unquote(get(1))); len(req) >= 2 {
		if req[0] != "-" {
			p.Method = req[0]
		}
		if req[1] != "-" {
			p.Path = req[1]
		}
	}
	p.logStatus(get(2))
	p.logFlags(get(3))
	if d := get(4); d != "" && !quoted(d) {
		p.logDetails(d)
	}
	standard := len(tk) >= 17 && !quoted(get(5)) && quoted(get(6)) && quoted(get(14)) && quoted(get(15)) && !quoted(get(16))
	if standard {
		p.add(FieldTermination, get(5))
		p.logTransport(unquote(get(6)))
		if a := unquote(get(14)); a != "-" {
			p.Authority = a
		}
		if u := unquote(get(15)); u != "-" {
			p.UpstreamHost = u
		}
		p.logCluster(get(16))
		return
	}
	for _, t := range tk[min(len(tk), 4):] {
		if !quoted(t) && (reCluster.MatchString(t) || strings.HasSuffix(t, "Cluster") || strings.Contains(t, "PassthroughCluster")) {
			p.logCluster(t)
			return
		}
	}
}

func (p *Parsed) logStatus(s string) {
	if n, err := strconv.Atoi(s); err == nil {
		p.HTTPStatus = n
		p.add(FieldStatus, s)
	}
}

func (p *Parsed) logFlags(s string) {
	if s == "" {
		return
	}
	p.ResponseFlags = s
	for _, f := range strings.Split(s, ",") {
		p.add(FieldFlag, f)
	}
}

func (p *Parsed) logDetails(d string) {
	if d == "-" || d == "" {
		return
	}
	p.Details = d
	p.add(FieldDetails, d)
	if m := reResetInner.FindStringSubmatch(d); m != nil {
		p.ResetReason = strings.ReplaceAll(m[1], "_", " ")
		p.add(FieldReset, m[1])
		if m[2] != "" {
			p.logTransport(m[2])
		}
	}
}

func (p *Parsed) logTransport(t string) {
	if t == "" || t == "-" {
		return
	}
	if p.FailureReason == "" {
		p.FailureReason = t
	}
	p.add(FieldTransport, t)
}

func (p *Parsed) logCluster(c string) {
	if c == "" || c == "-" {
		return
	}
	p.Cluster = c
	if m := reCluster.FindStringSubmatch(c); m != nil {
		p.Direction = m[1]
		p.Port, _ = strconv.Atoi(m[2])
		p.Subset = m[3]
		p.Host = m[4]
	}
	p.add(FieldCluster, c)
}

// parseJSONLine reads Istio's JSON access-log encoding
// (telemetry_logging.go EnvoyJSONLogFormatIstio).
func (p *Parsed) parseJSONLine(line string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return fmt.Errorf("the JSON access-log line does not parse: %v", err)
	}
	s := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return v
		case float64:
			return strconv.Itoa(int(v))
		}
		return ""
	}
	p.Format = FormatAccessLogJSON
	if v := s("method"); v != "" && v != "-" {
		p.Method = v
	}
	if v := s("path"); v != "" && v != "-" {
		p.Path = v
	}
	p.logStatus(s("response_code"))
	p.logFlags(s("response_flags"))
	p.logDetails(s("response_code_details"))
	p.add(FieldTermination, s("connection_termination_details"))
	p.logTransport(s("upstream_transport_failure_reason"))
	if v := s("authority"); v != "" && v != "-" {
		p.Authority = v
	}
	if v := s("upstream_host"); v != "" && v != "-" {
		p.UpstreamHost = v
	}
	p.logCluster(s("upstream_cluster"))
	return nil
}

// parseFreeText reads Envoy bodies and curl errors anywhere in the text.
func (p *Parsed) parseFreeText(t string) {
	if strings.TrimSpace(t) == "" {
		return
	}
	before := len(p.Parts)
	if m := reBodyPrefix.FindString(t); m != "" {
		p.add(FieldBody, m)
	}
	for _, m := range reBodyOther.FindAllString(t, -1) {
		p.add(FieldBody, m)
	}
	if reRetried.MatchString(t) {
		p.Retried = true
		p.add(FieldRetried, reRetried.FindString(t))
	}
	if m := reReset.FindStringSubmatch(t); m != nil {
		p.ResetReason = strings.TrimSpace(m[1])
		p.add(FieldReset, m[1])
	}
	if m := reTransport.FindStringSubmatch(t); m != nil {
		r := strings.TrimRight(strings.TrimSpace(m[1]), ".")
		p.FailureReason = r
		p.add(FieldTransport, r)
	} else if m := reBareReason.FindString(t); m != "" {
		p.FailureReason = m
		p.add(FieldTransport, m)
	}
	// Response code details pasted on their own (a log field, or the
	// x-envoy-response-code-details header).
	for _, m := range reDetailWord.FindAllString(t, -1) {
		p.logDetails(m)
	}
	bodyParts := len(p.Parts) > before
	for _, m := range reCurl.FindAllStringSubmatch(t, -1) {
		n, _ := strconv.Atoi(m[1])
		if p.CurlExit == 0 {
			p.CurlExit = n
		}
		p.add(FieldCurl, m[0])
	}
	if m := reHTTPStatus.FindStringSubmatch(t); m != nil && p.HTTPStatus == 0 {
		p.logStatus(m[1])
	}
	if p.Format == "" {
		switch {
		case p.CurlExit != 0:
			p.Format = FormatCurl
		case bodyParts:
			p.Format = FormatEnvoyBody
		}
	}
}

// match gives each part the rows it matches and their meaning.
func (p *Parsed) match() {
	for i := range p.Parts {
		part := &p.Parts[i]
		n := Normalize(part.Text)
		var meanings []string
		for _, r := range Table {
			if r.Field == part.Field && r.Match.MatchString(n) {
				part.Rows = append(part.Rows, r.ID)
				meanings = append(meanings, r.Meaning)
			}
		}
		if len(meanings) == 0 {
			part.Meaning = "not in meshdoctor's table of Envoy texts"
			continue
		}
		part.Meaning = strings.Join(meanings, "; ")
		switch part.Field {
		case FieldCluster:
			if p.Direction == "outbound" {
				part.Meaning += fmt.Sprintf(" (host %s, port %d", p.Host, p.Port)
				if p.Subset != "" {
					part.Meaning += ", subset " + p.Subset
				}
				part.Meaning += ")"
			} else if p.Direction == "inbound" {
				part.Meaning += fmt.Sprintf(" (port %d)", p.Port)
			}
		case FieldDetails:
			if i := strings.Index(part.Text, "matched_policy["); i >= 0 {
				part.Meaning += fmt.Sprintf(" (here: %s)", strings.TrimSuffix(part.Text[i+len("matched_policy["):], "]"))
			}
		}
	}
}

// Target is the TO of a trace read from the input: the authority and path of
// an HTTP request (what the caller asked for, so a gateway's host routes), or
// the host and port of an outbound cluster.
func (p *Parsed) Target() (string, bool) {
	if p.Authority != "" && p.Method != "" {
		path := p.Path
		if path == "" {
			path = "/"
		}
		return "http://" + p.Authority + path, true
	}
	if p.Direction == "outbound" && p.Host != "" && p.Port > 0 {
		if p.Method != "" {
			return fmt.Sprintf("http://%s:%d%s", p.Host, p.Port, p.Path), true
		}
		return fmt.Sprintf("%s:%d", p.Host, p.Port), true
	}
	return "", false
}
