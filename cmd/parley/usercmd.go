package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parleydesk/parley/desk/users"
)

const userUsage = `usage: parley user ACTION -id USER [flags]

actions:
  add      -name NAME -role agent|supervisor|admin [-departments a,b] [-capacity N]
  passwd   set a new password (signs the user out everywhere)
  disable  stop the user signing in (signs them out everywhere)
  enable   let a disabled user sign in again

The password is read from standard input (one line), never from a flag.
`

// userCommand manages desk users.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	action := args[0]
	fs := flag.NewFlagSet("user "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "user id")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "agent", "agent, supervisor or admin")
	depts := fs.String("departments", "", "comma-separated departments")
	capacity := fs.Int("capacity", 0, "live chats at once (default 3)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("user: -id is required\n" + userUsage)
	}
	readPassword := func() (string, error) {
		if f, ok := stdin.(*os.File); ok && f == os.Stdin {
			fmt.Fprint(stderr, "Password: ")
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	c, err := openCore(ctx, getenv, stderr, roleGateway)
	if err != nil {
		return err
	}
	defer c.close()
	switch action {
	case "add":
		if _, err := c.svc.Store().Agent(ctx, *id); err == nil {
			return fmt.Errorf("user add: %s exists; change it with the admin API, or set a password with user passwd", *id)
		}
		password, err := readPassword()
		if err != nil {
			return err
		}
		var departments []string
		if *depts != "" {
			departments = strings.Split(*depts, ",")
		}
		return c.svc.SaveUser(ctx, users.Spec{ID: *id, Name: *name, Role: *role, Departments: departments, Capacity: *capacity}, password)
	case "passwd":
		password, err := readPassword()
		if err != nil {
			return err
		}
		return c.svc.SetPassword(ctx, *id, password, true, "")
	case "disable":
		return c.svc.DisableUser(ctx, *id)
	case "enable":
		return c.svc.EnableUser(ctx, *id)
	}
	return fmt.Errorf("user: unknown action %q\n%s", action, userUsage)
}
