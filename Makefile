# pg_container: per-user Docker containers managed from PostgreSQL.
#
# Build and install with PGXS:
#   make && sudo make install
# Regression tests (pg_regress), after make install, as a user other than
# root (they need no server and no Docker; see below):
#   make installcheck
# The full suite, with its own PostgreSQL cluster and dockerd: test/run-tests

EXTENSION = pg_container
MODULE_big = pg_container
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA = $(wildcard sql/pg_container--*.sql)

# pg_regress, in PGXS's own layout: inputs sql/NAME.sql beside the install
# scripts (DATA takes only sql/pg_container--*.sql, so none of them is
# installed), expected output expected/NAME.out.  Nothing there needs
# Docker, so it runs in temporary instances that pg_regress makes with
# initdb, which refuses root:
#   REGRESS                the library preloaded (test/preloaded.conf)
#   REGRESS_NOT_PRELOADED  the library not preloaded, in an instance of its own
#                          (test/not_preloaded.conf)
REGRESS = api preloaded update
REGRESS_NOT_PRELOADED = not_preloaded
REGRESS_OPTS = --temp-instance=tmp_check --temp-config=test/preloaded.conf

# Any PostgreSQL from 15 to 18 (src/pg_compat.h); test/run-tests chooses
# PG_CONFIG itself.
PG_CONFIG ?= pg_config

# -Wextra minus unused-parameter, which PostgreSQL's own headers trip over
# (lib/ilist.h, storage/bufpage.h).
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK = -lcurl -lcrypto

# The library serves the tables of exactly the version the control file
# names; another installed version is told to ALTER EXTENSION ... UPDATE.
PGC_EXTENSION_VERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" pg_container.control)
PG_CPPFLAGS += -DPGC_EXTENSION_VERSION='"$(PGC_EXTENSION_VERSION)"'

EXTRA_CLEAN = results regression.diffs regression.out tmp_check log not_preloaded

NO_INSTALLCHECK = 1

# Debian packages (packaging/make-deb.sh) and the PGXN archive need no
# PostgreSQL headers to be asked for: they are made without PGXS.
PACKAGING_GOALS = deb dist
ifneq ($(filter-out $(PACKAGING_GOALS),$(or $(MAKECMDGOALS),all)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif

.PHONY: $(PACKAGING_GOALS)
deb:
	packaging/make-deb.sh
dist:
	packaging/make-dist.sh

# installcheck runs both instances, each with its own output folder so that
# neither overwrites the other's regression.diffs (make -k runs the second
# when the first fails).  PGXS's own installcheck would run only REGRESS.
.PHONY: installcheck-preloaded installcheck-not-preloaded
installcheck: installcheck-preloaded installcheck-not-preloaded
installcheck-preloaded:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
installcheck-not-preloaded:
	$(pg_regress_installcheck) --outputdir=not_preloaded \
		--temp-instance=not_preloaded/tmp_check --temp-config=test/not_preloaded.conf \
		--dbname=$(CONTRIB_TESTDB) $(REGRESS_NOT_PRELOADED)
