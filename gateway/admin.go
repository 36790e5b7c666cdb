package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/parleydesk/parley/desk/users"
	"gopkg.in/yaml.v3"
)

// Administration: admins manage the engine's settings and the users; every
// change is in the audit log.

var errAdminsOnly = newError(http.StatusForbidden, "forbidden", "admins only")

func (a *api) adminOnly(c *fiber.Ctx) error {
	if actor(c).Role != "admin" {
		return errAdminsOnly
	}
	return c.Next()
}

// settings answers the engine settings as JSON, in the configuration file's
// shape (durations as "5m0s").
func (a *api) getSettings(c *fiber.Ctx) error {
	doc, err := a.svc.SettingsDocument()
	if err != nil {
		return err
	}
	var v map[string]any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		return err
	}
	return c.JSON(v)
}

// putSettings replaces the settings with the JSON body, checked whole.
func (a *api) putSettings(c *fiber.Ctx) error {
	if !json.Valid(c.Body()) {
		return newError(http.StatusBadRequest, "bad_json", "body: not JSON")
	}
	// JSON is YAML: the settings are read with the configuration file's
	// own decoder and checks.
	if err := a.svc.UpdateSettings(c.UserContext(), actor(c), string(c.Body())); err != nil {
		return err
	}
	return a.getSettings(c)
}

type userRequest struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Departments []string `json:"departments"`
	Capacity    int      `json:"capacity"`
	Password    string   `json:"password"`
}

// users lists every user, with whether each is disabled.
func (a *api) users(c *fiber.Ctx) error {
	out, err := a.agentViews(c, true)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": out})
}

func (a *api) saveUser(c *fiber.Ctx, id string, creating bool) error {
	var req userRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if id == "" {
		id = req.ID
	}
	ctx := c.UserContext()
	_, err := a.svc.Store().Agent(ctx, id)
	switch {
	case creating && err == nil:
		return newError(http.StatusConflict, "exists", "a user with this id exists")
	case !creating && err != nil:
		return err
	case creating && req.Password == "":
		return newError(http.StatusBadRequest, "invalid", "a new user needs a password")
	}
	spec := users.Spec{ID: id, Name: req.Name, Role: req.Role, Departments: req.Departments, Capacity: req.Capacity}
	if err := a.svc.SaveUser(ctx, spec, req.Password); err != nil {
		return err
	}
	action := "user.update"
	if creating {
		action = "user.create"
	}
	detail := "role " + req.Role + ", departments " + strings.Join(req.Departments, ",")
	if err := a.svc.Audit(ctx, actor(c), action, id, detail); err != nil {
		return err
	}
	agent, err := a.svc.Store().Agent(ctx, id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if creating {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(meResponse(agent, ""))
}

func (a *api) createUser(c *fiber.Ctx) error { return a.saveUser(c, "", true) }
func (a *api) updateUser(c *fiber.Ctx) error { return a.saveUser(c, c.Params("uid"), false) }

func (a *api) resetPassword(c *fiber.Ctx) error {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	keep := "" // an admin setting their own password stays signed in here
	if c.Params("uid") == actor(c).ID {
		keep = currentSession(c).Token
	}
	if err := a.svc.SetPassword(c.UserContext(), c.Params("uid"), req.Password, true, keep); err != nil {
		return err
	}
	if err := a.svc.Audit(c.UserContext(), actor(c), "user.password", c.Params("uid"), ""); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *api) disableUser(c *fiber.Ctx) error {
	if c.Params("uid") == actor(c).ID {
		return newError(http.StatusConflict, "wrong_state", "you cannot disable yourself")
	}
	if err := a.svc.DisableUser(c.UserContext(), c.Params("uid")); err != nil {
		return err
	}
	if err := a.svc.Audit(c.UserContext(), actor(c), "user.disable", c.Params("uid"), ""); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// enableUser lets a disabled user sign in again: setting a password never
// does, so a reset cannot revive an account by accident.
func (a *api) enableUser(c *fiber.Ctx) error {
	if err := a.svc.EnableUser(c.UserContext(), c.Params("uid")); err != nil {
		return err
	}
	if err := a.svc.Audit(c.UserContext(), actor(c), "user.enable", c.Params("uid"), ""); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *api) audit(c *fiber.Ctx) error {
	items, err := a.svc.AuditLog(c.UserContext(), c.QueryInt("offset", 0), c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}
