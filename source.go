package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"errors"
	"fmt"
	"strings"
)

// sourceKind says which part of a log record an extra column reads.
type sourceKind int

const (
	sourceAttribute sourceKind = iota
	sourceResource
	sourceBodyKey
	sourceBody
	sourceScopeName
	sourceScopeVersion
	sourceSeverityText
	sourceSeverityNumber
	sourceTraceID
	sourceSpanID
	sourceConstant // key is the value itself: not configurable, for the dead-letter columns
)

// source is a parsed ColumnConfig.Source.
type source struct {
	kind sourceKind
	key  string // for attributes.<key>, resource.<key> and body.<key>
}

var fixedSources = map[string]sourceKind{
	"body":            sourceBody,
	"scope.name":      sourceScopeName,
	"scope.version":   sourceScopeVersion,
	"severity_text":   sourceSeverityText,
	"severity_number": sourceSeverityNumber,
	"trace_id":        sourceTraceID,
	"span_id":         sourceSpanID,
}

var keyedSources = map[string]sourceKind{
	"attributes": sourceAttribute,
	"resource":   sourceResource,
	"body":       sourceBodyKey,
}

func parseSource(s string) (source, error) {
	if kind, ok := fixedSources[s]; ok {
		return source{kind: kind}, nil
	}
	prefix, key, found := strings.Cut(s, ".")
	if kind, ok := keyedSources[prefix]; ok && found && key != "" {
		return source{kind: kind, key: key}, nil
	}
	if s == "" {
		return source{}, errors.New("must not be empty")
	}
	return source{}, fmt.Errorf("%q is unknown (attributes.<key>, resource.<key>, body.<key>, body, scope.name, scope.version, severity_text, severity_number, trace_id, span_id)", s)
}
