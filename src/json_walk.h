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
#include "nodes/pg_list.h"

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

/*
 * A JSON array of objects read into a List of zeroed items, one per
 * element: the walker's state begins with a JsonItems (item_size set by
 * the caller), json_items_start is its on_container_start, and its
 * on_scalar asks json_items_current which item a scalar belongs to.
 * json_items_ok then says whether the root was an array of objects only.
 */
typedef struct JsonItems
{
	Size		item_size;
	bool		root_is_array;
	bool		bad_item;		/* an element that is not an object */
	List	   *items;
} JsonItems;

extern JsonParseErrorType json_walk(JsonWalker *w, char *json, size_t len, char **error_detail);
extern bool json_walk_at(const JsonWalker *w, int depth, ...);
extern void json_items_start(JsonWalker *w, bool is_object);
extern void *json_items_current(JsonWalker *w);
extern bool json_items_ok(const JsonItems *items);

#endif							/* PGC_JSON_WALK_H */
