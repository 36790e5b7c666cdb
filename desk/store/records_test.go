package store

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

// storedConversation is a conversation as Redis holds it. Conversations
// are stored in the shape of their JSON, so renaming a field of the API
// would silently change what is stored and lose what is there already:
// this pins the stored shape, and a change to it must come with a
// migration of the data.
const storedConversation = `{"id":"01J0CONV","contact":"whatsapp:+27820000001","channel":"whatsapp","department":"general","kind":"chat","state":"closed","session":"ended","assignee":"ann","flagged":true,"awaiting_agent":true,"agent_replied":true,"ignored":["bob"],"contact_name":"Pieter","preview":"Thanks","mentions":["sue"],"merged":["01J0OLD"],"merged_into":"01J0NEW","last_responder":"ann","converted_to":"01J0TICKET","subject":"Refund","bot":"helper","bot_pending":["01J0MSG"],"tags":["vip"],"attributes":{"plan":"gold"},"deleted_by":"ann","rating":{"score":5,"at":1772445600000},"deleted_at":1772445600000,"deadlines":{"archive":1772449200000},"wake_at":1772449200000,"closed":{"by":"ann","reason":"closed by agent","sentiment":"positive","notes":"done","tag":"billing","refs":["https://example.com/o/1"],"at":1772445600000},"created_at":1772445600000,"updated_at":1772445600000,"last_customer_at":1772445600000,"last_agent_at":1772445600000,"first_agent_at":1772445600000,"last_activity_at":1772445600000,"assigned_at":1772445600000}`

func pinnedConversation() *engine.Conversation {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	return &engine.Conversation{
		ID: "01J0CONV", Contact: "whatsapp:+27820000001", Channel: "whatsapp", Department: "general",
		Kind: engine.KindChat, State: engine.StateClosed, Session: engine.SessionEnded, Assignee: "ann", Flagged: true,
		AwaitingAgent: true, AgentReplied: true, Ignored: []string{"bob"}, ContactName: "Pieter", Preview: "Thanks",
		Mentions: []string{"sue"}, Merged: []string{"01J0OLD"}, MergedInto: "01J0NEW", LastResponder: "ann",
		ConvertedTo: "01J0TICKET", Subject: "Refund", Bot: "helper", BotPending: []string{"01J0MSG"},
		Tags: []string{"vip"}, Attributes: map[string]string{"plan": "gold"}, Rating: &engine.Rating{Score: 5, At: at},
		DeletedAt: &at, DeletedBy: "ann", Deadlines: map[engine.Timer]time.Time{engine.TimerArchive: later}, WakeAt: later,
		Closed: &engine.Closure{By: "ann", Reason: engine.ReasonAgent, Sentiment: "positive", Notes: "done", Tag: "billing",
			Refs: []string{"https://example.com/o/1"}, At: at},
		CreatedAt: at, UpdatedAt: at, LastCustomerAt: at, LastAgentAt: at, FirstAgentAt: at, LastActivityAt: at, AssignedAt: at,
	}
}

func TestStoredConversationFormat(t *testing.T) {
	got, err := encodeConversation(pinnedConversation())
	if err != nil {
		t.Fatal(err)
	}
	if got != storedConversation {
		t.Fatalf("the stored shape of a conversation changed (migrate the data, then update this test):\n got %s\nwant %s", got, storedConversation)
	}
	back, err := decodeConversation("7 " + storedConversation)
	if err != nil {
		t.Fatal(err)
	}
	want := pinnedConversation()
	want.Version = 7
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("decoded %+v\nwant %+v", back, want)
	}
}

// fill sets every exported field of v to a value that is not zero, so a
// round trip shows a field the stored record forgot.
func fill(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(3)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		fill(t, e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.UnixMilli(1772445600123).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	default:
		t.Fatalf("fill: no value for a %s", v.Type())
	}
}

// TestStoredConversationKeepsEveryField: a field added to Conversation and
// forgotten in convRecord would be lost at the first write.
func TestStoredConversationKeepsEveryField(t *testing.T) {
	var c engine.Conversation
	fill(t, reflect.ValueOf(&c).Elem())
	c.Version = 0 // the store's own: not part of the record
	doc, err := encodeConversation(&c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeConversation("0 " + doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, &c) {
		t.Fatalf("lost in storage:\n got %+v\nwant %+v", back, &c)
	}
}

// TestStoredAgentKeepsEveryField: the same for an agent, whose load and
// last assignment are stored beside its document.
func TestStoredAgentKeepsEveryField(t *testing.T) {
	var a engine.Agent
	fill(t, reflect.ValueOf(&a).Elem())
	back, err := decodeAgent(encodeAgent(&a), itoa(a.Version), strconv.Itoa(a.Load), ms(a.LastAssigned))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, &a) {
		t.Fatalf("lost in storage:\n got %+v\nwant %+v", back, &a)
	}
	const stored = `{"id":"ann","name":"Ann","role":"agent","departments":["general"],"capacity":3,"presence":"online","accepting":true}`
	if got := encodeAgent(&engine.Agent{ID: "ann", Name: "Ann", Role: "agent", Departments: []string{"general"}, Capacity: 3, Presence: engine.Online, Accepting: true}); got != stored {
		t.Fatalf("the stored shape of an agent changed:\n got %s\nwant %s", got, stored)
	}
}
