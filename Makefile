# pg_container: per-user Docker containers managed from PostgreSQL.
#
# Build and install with PGXS:
#   make && sudo make install
# Regression tests (pg_regress) run against a running server:
#   make installcheck
# The full suite, with its own PostgreSQL cluster and dockerd: test/run-tests

EXTENSION = pg_container
MODULE_big = pg_container
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA = $(wildcard sql/pg_container--*.sql)

# pg_regress: inputs in sql/, expected output in expected/.
REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/pg_container--%,$(wildcard sql/*.sql)))

# Any PostgreSQL from 15 to 18 (src/pg_compat.h); test/run-tests chooses
# PG_CONFIG itself.
PG_CONFIG ?= pg_config

# -Wextra minus unused-parameter, which PostgreSQL's own headers trip over
# (lib/ilist.h, storage/bufpage.h).
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK = -lcurl -lcrypto

EXTRA_CLEAN = results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
