package store

import (
	"time"
	"unicode/utf8"

	"github.com/parleydesk/parley/desk/engine"
)

// encodeEvent is json.Marshal(e), written out: an event is encoded for every
// change committed, and reflection cost as much as the rest of the write.
// events_test.go holds it to json.Marshal's output.
func encodeEvent(e engine.Event) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, e.Type)
	for _, f := range [...]struct{ name, value string }{
		{`,"conversation_id":`, e.ConversationID}, {`,"message_id":`, e.MessageID}, {`,"status":`, e.Status},
		{`,"state":`, e.State}, {`,"assignee":`, e.Assignee}, {`,"agent":`, e.Agent}, {`,"was":`, e.Was},
		{`,"kind":`, e.Kind}, {`,"department":`, e.Department},
	} {
		if f.value != "" {
			b = appendJSONString(append(b, f.name...), f.value)
		}
	}
	if len(e.Mentions) > 0 {
		b = append(b, `,"mentions":[`...)
		for i, m := range e.Mentions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, ']')
	}
	if e.Typing {
		b = append(b, `,"typing":true`...)
	}
	if e.Preview != "" {
		b = appendJSONString(append(b, `,"preview":`...), e.Preview)
	}
	var err error
	if !e.LastCustomerAt.IsZero() {
		if b, err = appendJSONTime(append(b, `,"last_customer_at":`...), e.LastCustomerAt); err != nil {
			return nil // as json.Marshal fails on a year it cannot write
		}
	}
	if b, err = appendJSONTime(append(b, `,"at":`...), e.At); err != nil {
		return nil
	}
	return append(b, '}')
}

func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b, err := t.AppendText(append(b, '"'))
	return append(b, '"'), err
}

// appendJSONString appends s as encoding/json writes a string: quoted,
// with <, > and & escaped for HTML, control characters, invalid UTF-8
// and the JavaScript line separators escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
