package desk

import (
	"encoding/json"

	"github.com/parleydesk/parley/desk/engine"
)

// encodeEvent is an event as it is published to the desk's live updates.
func encodeEvent(e engine.Event) []byte {
	raw, _ := json.Marshal(e) // an Event always marshals
	return raw
}
