"""Lambda handlers: parse the event, call one function in reconciler.triggers, return."""
