//go:build oracleengine

// This file only keeps the main module in go.mod (go mod tidy reads every build tag) until
// the comparison test imports meshdoctor's engine. It is never compiled.
package oracle

import _ "github.com/meshdoctor/meshdoctor/internal/mesh"
