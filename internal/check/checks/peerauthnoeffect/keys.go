package peerauthnoeffect

import "github.com/meshdoctor/meshdoctor/internal/objects"

func sortedKeys(m map[string]string) []string { return objects.SortedKeys(m) }
