package greptimetest

import (
	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// authenticate checks RequestHeader.authorization as GreptimeDB's gRPC
// context_auth::auth with a static user provider does
// (src/servers/src/grpc/context_auth.rs:126-162). The gRPC "authorization"
// metadata is not consulted, as GreptimeDB's Handle does not: it passes only
// the header (src/servers/src/grpc/greptime_handler.rs:94-95); the metadata
// check, check_auth (src/servers/src/grpc/context_auth.rs:82-123), serves
// Flight and OTel Arrow only. Every user may write: the stand-in has no
// read-only users (see doc.go).
func (s *Server) authenticate(h *greptimev1.RequestHeader) *greptimeError {
	if len(s.users) == 0 {
		// No user provider: every request passes (src/servers/src/grpc/context_auth.rs:131-133).
		return nil
	}
	auth := h.GetAuthorization()
	if auth == nil || auth.GetAuthScheme() == nil {
		// src/servers/src/grpc/context_auth.rs:135-142, src/servers/src/error.rs:351.
		return newError(StatusAuthHeaderNotFound, "Not found http or grpc authorization header")
	}
	basic := auth.GetBasic()
	if basic == nil {
		// src/servers/src/grpc/context_auth.rs:154-156, src/servers/src/error.rs:357.
		return newError(StatusInvalidAuthHeader, "Unsupported http auth scheme, name: Token AuthScheme")
	}
	// The static user provider's order (authenticate_with_credential,
	// src/auth/src/user_provider.rs:523-570): a blank username, then the user
	// lookup, then a blank password, then the password. A blank password of
	// an unknown user is therefore UserNotFound, not InvalidArguments.
	user := basic.GetUsername()
	if user == "" {
		// src/auth/src/user_provider.rs:530-535; IllegalParam is 1004 (src/auth/src/error.rs:27, :104).
		return newError(StatusInvalidArguments, "Illegal param: blank username")
	}
	want, ok := s.users[user]
	if !ok {
		// src/auth/src/user_provider.rs:536-538, src/auth/src/error.rs:57.
		return newError(StatusUserNotFound, "User not found, username: %s", user)
	}
	if basic.GetPassword() == "" {
		// src/auth/src/user_provider.rs:542-547; non_retryable (src/auth/src/error.rs:127).
		return newError(StatusInvalidArguments, "Illegal param: blank password")
	}
	if basic.GetPassword() != want {
		// src/auth/src/user_provider.rs:554-558, src/auth/src/error.rs:63.
		return newError(StatusUserPasswordMismatch, "Username and password does not match, username: %s", user)
	}
	return s.authorize(user, h)
}

// authorize checks a user's access to the request's database, as a user
// provider's authorize does after authentication (src/auth/src/user_provider.rs:57-66),
// with the catalog and schema of the request (context_auth.rs:145-153).
func (s *Server) authorize(user string, h *greptimev1.RequestHeader) *greptimeError {
	dbs, limited := s.access[user]
	if !limited {
		return nil
	}
	catalog, schema := headerDB(h)
	for _, db := range dbs {
		if c, sch := parseDBName(db); c == catalog && sch == schema {
			return nil
		}
	}
	// src/auth/src/error.rs:66-76.
	return newError(StatusAccessDenied, "Access denied for user '%s' to database '%s-%s'", user, catalog, schema)
}
