/*-------------------------------------------------------------------------
 *
 * token_crypto.h
 *	  Gateway tokens: generation, and encryption at rest.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_TOKEN_CRYPTO_H
#define PGC_TOKEN_CRYPTO_H

/* A token is 32 random bytes, hex-encoded. */
#define PGC_TOKEN_BYTES 32
#define PGC_TOKEN_LENGTH (PGC_TOKEN_BYTES * 2)

extern void pgc_require_encryption_key(void);
extern char *pgc_token_generate(void);
extern char *pgc_token_encrypt(const char *token, const char *user_id);
extern char *pgc_token_decrypt(const char *stored, const char *user_id);

#endif							/* PGC_TOKEN_CRYPTO_H */
