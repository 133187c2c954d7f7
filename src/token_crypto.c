/*-------------------------------------------------------------------------
 *
 * token_crypto.c
 *	  Makes gateway tokens and keeps them encrypted at rest.
 *
 * A token is 32 bytes from OpenSSL's RAND_bytes, hex-encoded.  In the table
 * it is stored as
 *
 *		pgc1$<key id>$<hex of IV || ciphertext || tag>
 *
 * encrypted with AES-256-GCM under the key in pg_container.encryption_key_file,
 * with a fresh 12-byte IV each time and the user id as additional
 * authenticated data, so a value copied onto another user's row does not
 * decrypt.  The key id is the first four bytes of SHA-256 over the key: it
 * lets us say "encrypted under another key" instead of a bare tag failure,
 * and gives nothing useful about the key itself.
 *
 * The key is read from its file on first use and again whenever the file's
 * identity, modification or change time differs, so rotating the file's
 * contents needs no reload; its type and permissions are checked on every
 * use.  During a rotation, pg_container.encryption_key_file_previous
 * names the old key: a token whose key id is not the current key's is
 * decrypted with it, until container_reencrypt_tokens() has rewritten every
 * token under the current key.  Key material never leaves this file: no error message
 * or log line includes it, and it is wiped from memory when replaced.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "utils/builtins.h"

#include "token_crypto.h"
#include "settings.h"

#define KEY_BYTES 32
#define KEY_ID_BYTES 4
#define IV_BYTES 12
#define TAG_BYTES 16
#define STORED_PREFIX "pgc1$"

typedef struct EncryptionKey
{
	bool		loaded;
	char		path[MAXPGPATH];
	dev_t		dev;
	ino_t		ino;
	struct timespec mtime;
	struct timespec ctime;		/* a chmod changes this, not mtime */
	off_t		size;
	unsigned char key[KEY_BYTES];
	char		key_id[KEY_ID_BYTES * 2 + 1];
} EncryptionKey;

static EncryptionKey current_key;
static EncryptionKey previous_key;

/* PostgreSQL's hex_encode (lower case), NUL-terminated. */
static void
to_hex(const unsigned char *src, size_t len, char *dst)
{
	dst[hex_encode((const char *) src, len, dst)] = '\0';
}

/*
 * PostgreSQL's hex_decode, which raises on a bad digit; checked first, so
 * that a damaged key file or stored token gets the message that says
 * which, and no half-decoded key is left behind.  Returns false instead.
 */
static bool
from_hex(const char *src, size_t hex_len, unsigned char *dst)
{
	if (hex_len % 2 != 0 || strspn(src, "0123456789abcdefABCDEF") < hex_len)
		return false;
	(void) hex_decode(src, hex_len, (char *) dst);
	return true;
}

static void
forget_key(EncryptionKey *k)
{
	OPENSSL_cleanse(k->key, sizeof(k->key));
	k->loaded = false;
}

/*
 * As PostgreSQL requires of ssl_key_file: the server's own user owns the
 * file and nobody else may touch it.  A group that can write the file
 * could swap in its own key, since the file is read again when it
 * changes; a group that can read it has every token.
 */
static void
check_key_file_access(EncryptionKey *k, int fd, const char *path, const struct stat *st)
{
	if (st->st_uid != geteuid())
	{
		close(fd);
		forget_key(k);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("encryption key file \"%s\" is not owned by the database server's user", path),
				 errdetail("The file is owned by user ID %u; the server runs as user ID %u.",
						   (unsigned int) st->st_uid, (unsigned int) geteuid()),
				 errhint("Run chown on the file to give it to the user the server runs as.")));
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO))
	{
		close(fd);
		forget_key(k);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("encryption key file \"%s\" is accessible to its group or to other users", path),
				 errdetail("The file must be readable and writable by its owner only, as with mode 0600."),
				 errhint("Run chmod 0600 on the file.")));
	}
}

/*
 * Open the key file named by setting and check what was opened, so the
 * checks apply to the file actually read; O_NONBLOCK keeps a FIFO in its
 * place from hanging us.  The checks run on every call: a chmod does not
 * change the contents.  Returns the open descriptor, its stat in *st.
 */
static int
open_key_file(EncryptionKey *k, const char *path, const char *setting, struct stat *st)
{
	int			fd;

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s is not set", setting),
				 errhint("Write a key of 64 hexadecimal characters (for example from \"openssl rand -hex 32\") "
						 "to a file readable only by the database server's user, set %s to its path, "
						 "and reload the configuration.", setting)));

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not read encryption key file \"%s\": %m", path),
				 errhint("Check %s.", setting)));
	if (fstat(fd, st) != 0)
	{
		int			save_errno = errno;

		close(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not read encryption key file \"%s\": %m", path)));
	}
	if (!S_ISREG(st->st_mode))
	{
		close(fd);
		forget_key(k);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("encryption key file \"%s\" is not a regular file", path)));
	}
	check_key_file_access(k, fd, path, st);
	return fd;
}

/* Whether *k was read from this very file, unchanged since. */
static bool
key_is_current(const EncryptionKey *k, const char *path, const struct stat *st)
{
	return k->loaded && strcmp(k->path, path) == 0 &&
		k->dev == st->st_dev && k->ino == st->st_ino && k->size == st->st_size &&
		k->mtime.tv_sec == st->st_mtim.tv_sec && k->mtime.tv_nsec == st->st_mtim.tv_nsec &&
		k->ctime.tv_sec == st->st_ctim.tv_sec && k->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Read the key's 64 hex digits from fd (closed here) into k->key. */
static void
read_key(EncryptionKey *k, int fd, const char *path)
{
	char		buf[256];
	ssize_t		nread;
	char	   *start;
	char	   *end;

	nread = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (nread < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not read encryption key file \"%s\": %m", path)));
	buf[nread] = '\0';

	/* Allow surrounding white space, such as the newline echo adds. */
	start = buf;
	while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;

	if (end - start != KEY_BYTES * 2 || !from_hex(start, KEY_BYTES * 2, k->key))
	{
		OPENSSL_cleanse(buf, sizeof(buf));
		forget_key(k);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("encryption key file \"%s\" does not hold a 256-bit key", path),
				 errdetail("The file must hold exactly 64 hexadecimal characters."),
				 errhint("Create one with \"openssl rand -hex 32\".")));
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

/*
 * Make *k hold the key in the file at path, reading the file only when it
 * has changed since the last read.  Raises F0000 (config_file_error) for a
 * file that is missing, readable by others, or does not hold a key.
 */
static void
load_key(EncryptionKey *k, const char *path, const char *setting)
{
	struct stat st;
	int			fd = open_key_file(k, path, setting, &st);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;

	if (key_is_current(k, path, &st))
	{
		close(fd);
		return;
	}

	forget_key(k);
	read_key(k, fd, path);

	if (EVP_Digest(k->key, KEY_BYTES, digest, &digest_len, EVP_sha256(), NULL) != 1)
	{
		forget_key(k);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not compute the encryption key's fingerprint")));
	}
	to_hex(digest, KEY_ID_BYTES, k->key_id);

	strlcpy(k->path, path, sizeof(k->path));
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->size = st.st_size;
	k->mtime = st.st_mtim;
	k->ctime = st.st_ctim;
	k->loaded = true;
}

/*
 * The key a stored token was encrypted under, by its fingerprint: the
 * current one, or during a rotation the previous one.
 */
static const EncryptionKey *
key_for_token(const char *key_id, const char *user_id)
{
	bool		have_previous;

	if (strncmp(key_id, current_key.key_id, KEY_ID_BYTES * 2) == 0)
		return &current_key;

	have_previous = pgc_encryption_key_file_previous != NULL &&
		pgc_encryption_key_file_previous[0] != '\0';
	if (have_previous)
		load_key(&previous_key, pgc_encryption_key_file_previous,
				 "pg_container.encryption_key_file_previous");
	if (!have_previous || strncmp(key_id, previous_key.key_id, KEY_ID_BYTES * 2) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("encryption key does not match the gateway token of user \"%s\"", user_id),
				 have_previous ?
				 errdetail("The token was encrypted under the key with fingerprint %.8s; "
						   "the configured keys have fingerprints %s (current) and %s (previous).",
						   key_id, current_key.key_id, previous_key.key_id) :
				 errdetail("The token was encrypted under the key with fingerprint %.8s; "
						   "pg_container.encryption_key_file holds the key with fingerprint %s.",
						   key_id, current_key.key_id),
				 errhint("During a key rotation, set pg_container.encryption_key_file_previous "
						 "to the old key's file until container_reencrypt_tokens() has run.")));
	return &previous_key;
}

/*
 * Fail early, with a hint, when no usable key is configured: callers do
 * this before they touch the table or Docker.
 */
void
pgc_require_encryption_key(void)
{
	load_key(&current_key, pgc_encryption_key_file, "pg_container.encryption_key_file");
}

char *
pgc_token_generate(void)
{
	unsigned char raw[PGC_TOKEN_BYTES];
	char	   *token = palloc(PGC_TOKEN_LENGTH + 1);

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not generate a gateway token"),
				 errdetail("OpenSSL's random number generator failed.")));
	to_hex(raw, sizeof(raw), token);
	OPENSSL_cleanse(raw, sizeof(raw));
	return token;
}

char *
pgc_token_encrypt(const char *token, const char *user_id)
{
	size_t		token_len = strlen(token);
	unsigned char *blob;
	unsigned char *iv;
	unsigned char *ciphertext;
	unsigned char *tag;
	EVP_CIPHER_CTX *ctx;
	int			len;
	bool		ok;
	char	   *stored;
	size_t		blob_len;

	pgc_require_encryption_key();

	blob_len = IV_BYTES + token_len + TAG_BYTES;
	blob = palloc(blob_len);
	iv = blob;
	ciphertext = blob + IV_BYTES;
	tag = ciphertext + token_len;

	if (RAND_bytes(iv, IV_BYTES) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not encrypt the gateway token"),
				 errdetail("OpenSSL's random number generator failed.")));

	/* No ereport between _new and _free: nothing may skip the free. */
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_BYTES, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, current_key.key, iv) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *) user_id, strlen(user_id)) == 1 &&
		EVP_EncryptUpdate(ctx, ciphertext, &len, (const unsigned char *) token, token_len) == 1 &&
		EVP_EncryptFinal_ex(ctx, ciphertext + len, &len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not encrypt the gateway token"),
				 errdetail("OpenSSL's AES-256-GCM encryption failed.")));

	stored = palloc(strlen(STORED_PREFIX) + KEY_ID_BYTES * 2 + 1 + blob_len * 2 + 1);
	sprintf(stored, "%s%s$", STORED_PREFIX, current_key.key_id);
	to_hex(blob, blob_len, stored + strlen(stored));
	pfree(blob);
	return stored;
}

char *
pgc_token_decrypt(const char *stored, const char *user_id)
{
	const char *key_id;
	const char *hex;
	size_t		hex_len;
	size_t		blob_len;
	size_t		token_len;
	unsigned char *blob;
	char	   *token;
	EVP_CIPHER_CTX *ctx;
	int			len;
	bool		ok;
	const EncryptionKey *key;

	pgc_require_encryption_key();

	if (strncmp(stored, STORED_PREFIX, strlen(STORED_PREFIX)) != 0 ||
		strlen(stored) < strlen(STORED_PREFIX) + KEY_ID_BYTES * 2 + 1 ||
		stored[strlen(STORED_PREFIX) + KEY_ID_BYTES * 2] != '$')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("gateway token of user \"%s\" is not in pg_container's encrypted format", user_id)));

	key_id = stored + strlen(STORED_PREFIX);
	hex = key_id + KEY_ID_BYTES * 2 + 1;
	hex_len = strlen(hex);

	key = key_for_token(key_id, user_id);

	if (hex_len % 2 != 0 || hex_len / 2 <= IV_BYTES + TAG_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("gateway token of user \"%s\" is truncated", user_id)));

	blob_len = hex_len / 2;
	blob = palloc(blob_len);
	if (!from_hex(hex, hex_len, blob))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("gateway token of user \"%s\" is not in pg_container's encrypted format", user_id)));

	token_len = blob_len - IV_BYTES - TAG_BYTES;
	token = palloc(token_len + 1);

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_BYTES, NULL) == 1 &&
		EVP_DecryptInit_ex(ctx, NULL, NULL, key->key, blob) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *) user_id, strlen(user_id)) == 1 &&
		EVP_DecryptUpdate(ctx, (unsigned char *) token, &len, blob + IV_BYTES, token_len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, blob + IV_BYTES + token_len) == 1 &&
		EVP_DecryptFinal_ex(ctx, (unsigned char *) token + len, &len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	pfree(blob);

	if (!ok)
	{
		OPENSSL_cleanse(token, token_len);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("gateway token of user \"%s\" failed authentication", user_id),
				 errdetail("The stored value was altered, or was copied from another user's row.")));
	}
	token[token_len] = '\0';
	return token;
}
