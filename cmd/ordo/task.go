package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
)

func newTaskCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "task",
		Short: "List, show and complete the tasks that reminders, alerts and escalations open for people",
	}
	flags.register(cmd)
	cmd.AddCommand(newTaskListCommand(flags), newTaskShowCommand(flags), newTaskCompleteCommand(flags))
	return cmd
}

func newTaskListCommand(flags *clientFlags) *cobra.Command {
	var assignee, state, kind, subject string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks, oldest first; open tasks only unless --state or --all is given",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{"limit": {strconv.Itoa(limit)}}
			for name, value := range map[string]string{"assignee": assignee, "kind": kind, "subject": subject} {
				if value != "" {
					query.Set(name, value)
				}
			}
			switch {
			case state != "":
				query.Set("state", state)
			case !all:
				query.Set("state", "open")
			}
			var list api.TaskList
			if err := flags.client().Get(cmd.Context(), "/api/v1/tasks", query, &list); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			if len(list.Tasks) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No tasks.")
				return nil
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "ID\tKIND\tASSIGNEE\tSUBJECT\tDUE\tSTATE\tTITLE")
			for _, task := range list.Tasks {
				fmt.Fprintf(table, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", task.ID, task.Kind, task.Assignee, task.Subject,
					formatTime(task.DueAt, loc), task.State, task.Title)
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if list.Next != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\nMore tasks follow: raise --limit (at most 1000) or narrow the filters.\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&assignee, "assignee", "", "only tasks of this person, by name")
	cmd.Flags().StringVar(&state, "state", "", "only tasks in this state: open, done or cancelled (default open)")
	cmd.Flags().BoolVar(&all, "all", false, "tasks in every state")
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind, e.g. lead_reminder, renewal or approval")
	cmd.Flags().StringVar(&subject, "subject", "", "only tasks about this record, e.g. lead:1C1I7A6R")
	cmd.Flags().IntVar(&limit, "limit", 100, "maximum number of tasks, 1 to 1000")
	return cmd
}

func newTaskShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a task with its text and the notifications sent about it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTaskID(args[0])
			if err != nil {
				return err
			}
			var view api.TaskView
			if err := flags.client().Get(cmd.Context(), "/api/v1/tasks/"+id, nil, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			printTask(cmd.OutOrStdout(), view, loc)
			return nil
		},
	}
}

func newTaskCompleteCommand(flags *clientFlags) *cobra.Command {
	var by, note string
	cmd := &cobra.Command{
		Use:   "complete ID --by NAME",
		Short: "Mark a task done and signal the workflow that opened it",
		Long: `Mark a task done on behalf of a person and send the workflow that opened it
the task-completed signal. Completing a done task again changes nothing and
sends the first completion again; a cancelled task cannot be completed.
Only the assignee or the assignee's manager may complete a task, unless
ORDO_API_TOKEN holds the admin token.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTaskID(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(by) == "" {
				return fmt.Errorf("--by is required: name the person who completed task %s", id)
			}
			var done api.CompleteTaskResponse
			if err := flags.client().Post(cmd.Context(), "/api/v1/tasks/"+id+"/complete", api.CompleteTaskRequest{By: by, Note: note}, &done); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), done)
			}
			out := cmd.OutOrStdout()
			if done.Changed {
				fmt.Fprintf(out, "Task %d is done (completed by %s).\n", done.Task.ID, done.Task.CompletedBy)
			} else {
				fmt.Fprintf(out, "Task %d was done already (completed by %s); nothing changed.\n", done.Task.ID, done.Task.CompletedBy)
			}
			switch done.Signal {
			case api.SignalSent:
				fmt.Fprintf(out, "Workflow %s received the completion.\n", done.Task.WorkflowID)
			case api.SignalWorkflowNotRunning:
				fmt.Fprintf(out, "Workflow %s is not running, so no workflow received the completion.\n", done.Task.WorkflowID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "name of the person who completed the task (required)")
	cmd.Flags().StringVar(&note, "note", "", "what was done, kept with the task")
	return cmd
}

func parseTaskID(text string) (string, error) {
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id < 1 {
		return "", fmt.Errorf("invalid task ID %q: use the number in the ID column of `ordo task list`", text)
	}
	return strconv.FormatInt(id, 10), nil
}

func printTask(out io.Writer, view api.TaskView, location *time.Location) {
	task := view.Task
	table := newTable(out)
	rows := [][2]string{
		{"Task", strconv.FormatInt(task.ID, 10)},
		{"Kind", task.Kind},
		{"State", task.State},
		{"Assignee", task.Assignee + roleSuffix(task.AssigneeRole)},
		{"Subject", task.Subject},
		{"Due", formatTime(task.DueAt, location)},
		{"Created", formatTime(&task.CreatedAt, location)},
		{"Workflow", dash(task.WorkflowID)},
		{"Link", dash(task.Link)},
	}
	if task.CompletedAt != nil {
		rows = append(rows, [2]string{"Completed", formatTime(task.CompletedAt, location) + " by " + task.CompletedBy},
			[2]string{"Note", dash(task.Note)})
	}
	if task.CancelledAt != nil {
		rows = append(rows, [2]string{"Cancelled", formatTime(task.CancelledAt, location)},
			[2]string{"Resolution", dash(task.Resolution)})
	}
	for _, row := range rows {
		fmt.Fprintf(table, "%s\t%s\n", row[0], row[1])
	}
	_ = table.Flush()

	fmt.Fprintf(out, "\n%s\n\n%s\n", task.Title, task.Body)

	if len(view.Notifications) == 0 {
		return
	}
	fmt.Fprintln(out)
	notifications := newTable(out)
	fmt.Fprintln(notifications, "CHANNEL\tADDRESS\tSTATE\tATTEMPTS\tSENT\tLAST ERROR")
	for _, n := range view.Notifications {
		fmt.Fprintf(notifications, "%s\t%s\t%s\t%d\t%s\t%s\n", n.Channel, dash(n.Address), n.State, n.Attempts,
			formatTime(n.SentAt, location), dash(n.LastError))
	}
	_ = notifications.Flush()
}

func roleSuffix(role string) string {
	if role == "" {
		return ""
	}
	return " (" + role + ")"
}
