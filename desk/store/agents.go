package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/redis/go-redis/v9"
)

// agentFields are the hash fields an agent is read from.
var agentFields = []string{"doc", "ver", "load", "last"}

func decodeAgent(doc, ver, load, last string) (*engine.Agent, error) {
	var r agentRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("decode agent: %w", err)
	}
	a := engine.Agent{ID: r.ID, Name: r.Name, Role: r.Role, Departments: r.Departments, Capacity: r.Capacity,
		Presence: r.Presence, Accepting: r.Accepting, Paused: r.Paused}
	a.Version = version(ver)
	a.Load = int(version(load))
	a.LastAssigned = fromMS(last)
	return &a, nil
}

// Agent returns one agent.
func (s *Store) Agent(ctx context.Context, id string) (*engine.Agent, error) {
	vals, err := s.rdb.HMGet(ctx, s.keys.agent(id), agentFields...).Result()
	if err != nil {
		return nil, err
	}
	str := make([]string, len(vals))
	for i, v := range vals {
		str[i], _ = v.(string)
	}
	if str[0] == "" {
		return nil, engine.ErrNotFound
	}
	return decodeAgent(str[0], str[1], str[2], str[3])
}

// deptLua is the Lua that appends to out a department's queue length (the
// sorted set at queue) and the fields of each of its agents (the set at
// members; agentPrefix names their keys), as decodeDept reads them.
func deptLua(members, queue, agentPrefix string) string {
	return `out[#out + 1] = tostring(redis.call("ZCARD", ` + queue + `))
for _, id in ipairs(redis.call("SMEMBERS", ` + members + `)) do
  local a = redis.call("HMGET", ` + agentPrefix + ` .. id, ` + luaStrings(agentFields) + `)
  if a[1] then
    for j = 1, ` + strconv.Itoa(len(agentFields)) + ` do out[#out + 1] = a[j] or "" end
  end
end`
}

// decodeDept reads what deptLua appended.
func decodeDept(res []string) (queued int, agents []*engine.Agent, err error) {
	queued, _ = strconv.Atoi(res[0])
	for i := 1; i+3 < len(res); i += len(agentFields) {
		a, err := decodeAgent(res[i], res[i+1], res[i+2], res[i+3])
		if err != nil {
			return 0, nil, err
		}
		agents = append(agents, a)
	}
	return queued, agents, nil
}

// deptScript returns a department's queue length and agents in one round
// trip.
var deptScript = redis.NewScript("local out = {}\n" + deptLua("KEYS[1]", "KEYS[2]", "ARGV[1]") + "\nreturn out")

// LoadDepartment adds a department's agents and queue length to w, unless
// they are there already.
func (s *Store) LoadDepartment(ctx context.Context, w *engine.World, dept string) error {
	if w.Loaded[dept] {
		return nil
	}
	w.Loaded[dept] = true
	res, err := deptScript.Run(ctx, s.rdb, []string{s.keys.deptAgents(dept), s.keys.queue(dept)}, s.keys.agent("")).StringSlice()
	if err != nil {
		return fmt.Errorf("load department %s: %w", dept, err)
	}
	queued, agents, err := decodeDept(res)
	if err != nil {
		return err
	}
	w.Queued[dept] = queued
	for _, a := range agents {
		w.TrackAgent(a)
	}
	return nil
}

// LoadAgent adds one agent to w (nothing if it does not exist).
func (s *Store) LoadAgent(ctx context.Context, w *engine.World, id string) error {
	if id == "" || w.Agent(id) != nil {
		return nil
	}
	w.Sought[id] = true
	a, err := s.Agent(ctx, id)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	w.TrackAgent(a)
	return nil
}

// Agents lists every agent.
func (s *Store) Agents(ctx context.Context) ([]*engine.Agent, error) {
	ids, err := s.rdb.SMembers(ctx, s.keys.allAgents()).Result()
	if err != nil {
		return nil, err
	}
	out := make([]*engine.Agent, 0, len(ids))
	for _, id := range ids {
		a, err := s.Agent(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
