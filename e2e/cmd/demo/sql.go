package main

import (
	"fmt"
	"io"
	"slices"
)

// eventQueries show in GreptimeDB what the demo stored: the rows per type,
// the table's schema and options, and a value read out of the JSON payload.
var eventQueries = []string{
	"SELECT type, count(*) FROM " + table + " GROUP BY type ORDER BY type;",
	"SHOW CREATE TABLE " + table + ";",
	"SELECT json_get_string(payload, 'body.user') AS login_user, count(*) AS logins FROM " + table +
		" WHERE type = 'user.login' GROUP BY login_user ORDER BY login_user;",
	"SELECT timestamp, type, json_to_string(payload) AS payload FROM " + table + " ORDER BY timestamp DESC LIMIT 3;",
	"SELECT timestamp, json_get_string(payload, 'span.name') AS span, json_get_string(payload, 'attributes[\"exception.message\"]') AS message FROM " +
		table + " WHERE type = 'exception' ORDER BY timestamp DESC LIMIT 10;",
}

// catalogQueries list the event types the catalog holds, across collectors
// and restarts, and the payload keys of one type (README: Event catalog).
var catalogQueries = []string{
	"SELECT table_name, type, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(events) AS events FROM " +
		catalogTable + " GROUP BY table_name, type ORDER BY events DESC;",
	"SELECT collector, payload_keys FROM " + catalogTable + " WHERE type = 'user.login';",
}

// deadLetterQueries show what GreptimeDB rejected, and why (README: Dead letters).
var deadLetterQueries = []string{
	"SELECT target_table, type, error_code, error_message, count(*) AS events FROM " + deadLetterTable +
		" GROUP BY target_table, type, error_code, error_message;",
	"SELECT timestamp, type, payload FROM " + deadLetterTable + " WHERE target_table = '" + table + "' ORDER BY timestamp DESC LIMIT 10;",
}

// printSQL prints the queries, for a user to run against GreptimeDB.
func printSQL(w io.Writer, db *greptimeDB) {
	where := "GreptimeDB's MySQL port (mysql -h 127.0.0.1 -P 4002) or its dashboard (http://127.0.0.1:4000/dashboard)"
	if db.standIn != nil {
		where = "a real GreptimeDB (make demo with GREPTIMEDB_ENDPOINT set; README: Running against a real GreptimeDB),\nover its MySQL port (mysql -h 127.0.0.1 -P 4002)"
	}
	fmt.Fprintf(w, "The same in SQL, against %s:\n", where)
	for _, q := range slices.Concat(eventQueries, catalogQueries, deadLetterQueries) {
		fmt.Fprintln(w, "  "+q)
	}
	fmt.Fprintln(w)
}
