"""The clinic: analysis of sessions, the client library, progress over the weeks."""
