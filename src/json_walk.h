/*-------------------------------------------------------------------------
 *
 * json_walk.h
 *	  One streaming pass over a JSON document, reporting each scalar with
 *	  its path, on top of PostgreSQL's own JSON parser.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_JSON_WALK_H
#define PGC_JSON_WALK_H

#include "common/jsonapi.h"

#define JSON_WALK_MAX_DEPTH 16

/* One step of a path: an object member's name, or an array index. */
typedef struct JsonPathStep
{
	const char *field;			/* NULL for an array element */
	int			index;
} JsonPathStep;

typedef struct JsonWalker JsonWalker;

typedef void (*json_walk_scalar_fn) (JsonWalker *w, char *value, JsonTokenType type);
typedef void (*json_walk_container_fn) (JsonWalker *w, bool is_object);

struct JsonWalker
{
	/* Set by the caller */
	json_walk_scalar_fn on_scalar;
	json_walk_container_fn on_container_start;	/* may be NULL */
	void	   *state;

	/* Maintained by the walk */
	JsonPathStep path[JSON_WALK_MAX_DEPTH];
	int			depth;			/* steps in path */
	int			overflow;		/* steps beyond JSON_WALK_MAX_DEPTH */
	int			next_index[JSON_WALK_MAX_DEPTH + 1];
};

extern JsonParseErrorType json_walk(JsonWalker *w, char *json, size_t len, char **error_detail);
extern bool json_walk_at(const JsonWalker *w, int depth, ...);

#endif							/* PGC_JSON_WALK_H */
