/*-------------------------------------------------------------------------
 *
 * json_walk.c
 *	  Reads the few fields pg_container needs out of a Docker response in a
 *	  single pass of PostgreSQL's JSON parser (pg_parse_json), calling back
 *	  with each scalar and the path that leads to it.
 *
 * An inspect answer is several kilobytes, of which we want ten values;
 * turning it into jsonb first (a second parse, a tree, sorted keys) was a
 * third of the cost of container_ensure_running on a running container.
 * The parser also checks the document, so invalid JSON is still caught.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>

#include "mb/pg_wchar.h"

#include "json_walk.h"
#include "pg_compat.h"

static void
push(JsonWalker *w, const char *field, int index)
{
	if (w->depth >= JSON_WALK_MAX_DEPTH || w->overflow > 0)
	{
		w->overflow++;
		return;
	}
	w->path[w->depth].field = field;
	w->path[w->depth].index = index;
	w->depth++;
}

static void
pop(JsonWalker *w)
{
	if (w->overflow > 0)
		w->overflow--;
	else if (w->depth > 0)
		w->depth--;
}

static PGC_JSON_ACTION
on_object_start(void *state)
{
	JsonWalker *w = state;

	if (w->on_container_start != NULL && w->overflow == 0)
		w->on_container_start(w, true);
	PGC_JSON_ACTION_DONE;
}

static PGC_JSON_ACTION
on_array_start(void *state)
{
	JsonWalker *w = state;

	if (w->overflow == 0)
		w->next_index[w->depth] = 0;
	if (w->on_container_start != NULL && w->overflow == 0)
		w->on_container_start(w, false);
	PGC_JSON_ACTION_DONE;
}

static PGC_JSON_ACTION
on_field_start(void *state, char *fname, bool isnull)
{
	push((JsonWalker *) state, fname, -1);
	PGC_JSON_ACTION_DONE;
}

static PGC_JSON_ACTION
on_field_end(void *state, char *fname, bool isnull)
{
	pop((JsonWalker *) state);
	PGC_JSON_ACTION_DONE;
}

static PGC_JSON_ACTION
on_element_start(void *state, bool isnull)
{
	JsonWalker *w = state;

	push(w, NULL, w->overflow == 0 ? w->next_index[w->depth]++ : 0);
	PGC_JSON_ACTION_DONE;
}

static PGC_JSON_ACTION
on_element_end(void *state, bool isnull)
{
	pop((JsonWalker *) state);
	PGC_JSON_ACTION_DONE;
}

static PGC_JSON_ACTION
on_scalar(void *state, char *token, JsonTokenType tokentype)
{
	JsonWalker *w = state;

	if (w->overflow == 0)
		w->on_scalar(w, token, tokentype);
	PGC_JSON_ACTION_DONE;
}

/*
 * Walk a document.  Returns JSON_SUCCESS, or the parser's error with its
 * explanation in *error_detail.
 */
JsonParseErrorType
json_walk(JsonWalker *w, char *json, size_t len, char **error_detail)
{
	JsonLexContext *lex = pgc_json_lex_make(json, len, GetDatabaseEncoding());
	JsonSemAction sem;
	JsonParseErrorType rc;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = w;
	sem.object_start = on_object_start;
	sem.array_start = on_array_start;
	sem.object_field_start = on_field_start;
	sem.object_field_end = on_field_end;
	sem.array_element_start = on_element_start;
	sem.array_element_end = on_element_end;
	sem.scalar = on_scalar;

	w->depth = 0;
	w->overflow = 0;
	rc = pg_parse_json(lex, &sem);
	/* The detail belongs to the lexer's context from PostgreSQL 17 on. */
	*error_detail = rc == JSON_SUCCESS ? NULL : pstrdup(json_errdetail(rc, lex));
	pgc_json_lex_free(lex);
	return rc;
}

/*
 * Whether the walk stands at exactly this path: depth steps, each given
 * as a string: a member name, "[N]" for array index N, or "[*]" for any.
 */
bool
json_walk_at(const JsonWalker *w, int depth, ...)
{
	va_list		args;
	bool		match = (w->depth == depth);

	va_start(args, depth);
	for (int i = 0; match && i < depth; i++)
	{
		const char *step = va_arg(args, const char *);
		const JsonPathStep *at = &w->path[i];

		if (step[0] == '[')
		{
			if (at->field != NULL)
				match = false;
			else if (step[1] != '*' && atoi(step + 1) != at->index)
				match = false;
		}
		else if (at->field == NULL || strcmp(at->field, step) != 0)
			match = false;
	}
	va_end(args);
	return match;
}

/* on_container_start for a JsonItems walk: a new item at each element. */
void
json_items_start(JsonWalker *w, bool is_object)
{
	JsonItems  *ji = w->state;

	if (w->depth == 0)
		ji->root_is_array = !is_object;
	else if (w->depth == 1)
	{
		if (is_object)
			ji->items = lappend(ji->items, palloc0(ji->item_size));
		else
			ji->bad_item = true;
	}
}

/*
 * The item a scalar of a JsonItems walk belongs to, or NULL if none (a
 * scalar directly in the array makes the answer unusable).
 */
void *
json_items_current(JsonWalker *w)
{
	JsonItems  *ji = w->state;

	if (w->depth == 1)
		ji->bad_item = true;
	if (w->depth < 2 || ji->items == NIL)
		return NULL;
	return llast(ji->items);
}

/* Whether a JsonItems walk read an array whose elements are all objects. */
bool
json_items_ok(const JsonItems *items)
{
	return items->root_is_array && !items->bad_item;
}
