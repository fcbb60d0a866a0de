--
-- zk_acl: the ACL schemes of API.md "ACL" at work (zk_security covers
-- world:anyone and the permission each call needs, zk_errors the ZK114
-- syntax cases): digest identities added with zk_add_auth, the auth scheme
-- expanded to the session's identities at create / set_acl time, ip (a
-- Unix-socket client counts as 127.0.0.1), pg:ROLE (membership of the
-- current role, followed as it changes), superusers bypassing ACLs,
-- set_acl's aversion, and ACLs guarding watches.
--
-- Identities added with zk_add_auth last as long as the connection, so each
-- part that needs a clean slate reconnects (\c).  Root path /acl.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE ROLE regress_zk_alice;
CREATE ROLE regress_zk_bob;
CREATE ROLE regress_zk_readers;
GRANT regress_zk_readers TO regress_zk_alice;

-- A digest id is user:base64(sha1(user:password)), as ZooKeeper's
-- DigestAuthenticationProvider makes it.
CREATE EXTENSION pgcrypto;
SELECT 'digest:alice:' || encode(digest('alice:secret', 'sha1'), 'base64') AS alice \gset
SELECT 'digest:bob:' || encode(digest('bob:builder', 'sha1'), 'base64') AS bob \gset
SELECT :'alice' AS alice_id, :'bob' AS bob_id;
DROP EXTENSION pgcrypto;

SELECT zk_create('/acl');
SELECT zk_create('/acl/alice', 'for alice', 'persistent', ARRAY[:'alice' || ':cdrwa']);
SELECT zk_create('/acl/shared', 'shared', 'persistent',
                 ARRAY[:'alice' || ':cdrwa', :'bob' || ':r']);

--
-- zk_add_auth: only the digest scheme, "user:password".
--
SELECT zk_test_sqlstate($$SELECT zk_add_auth('sasl', 'alice')$$);
SELECT zk_test_code($$SELECT zk_add_auth('ip', '10.1.2.3')$$) AS ip_scheme;
SELECT zk_test_sqlstate($$SELECT zk_add_auth('digest', 'alice')$$);
SELECT zk_test_code($$SELECT zk_add_auth('digest', ':secret')$$) AS no_user;
SELECT zk_test_code($$SELECT zk_add_auth(NULL, 'alice:secret')$$) AS null_scheme;
SELECT zk_test_code($$SELECT zk_add_auth('digest', NULL)$$) AS null_auth;

--
-- digest: the node grants what its entry for the session's identity says;
-- a wrong password adds an identity that matches nothing.
--
SET ROLE regress_zk_bob;
SELECT stmt, zk_test_code(stmt) AS without_identity
  FROM unnest(ARRAY[
    'SELECT * FROM zk_get(''/acl/alice'')',
    'SELECT * FROM zk_get(''/acl/shared'')',
    'SELECT zk_set(''/acl/shared'', ''x'')'
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
SELECT zk_add_auth('digest', 'alice:wrong');
SELECT zk_test_code($$SELECT * FROM zk_get('/acl/alice')$$) AS wrong_password;
SELECT zk_add_auth('digest', 'bob:builder');
SELECT stmt, zk_test_code(stmt) AS as_bob
  FROM unnest(ARRAY[
    'SELECT * FROM zk_get(''/acl/alice'')',
    'SELECT * FROM zk_get(''/acl/shared'')',
    'SELECT zk_get_children(''/acl/shared'')',
    'SELECT zk_set(''/acl/shared'', ''x'')',
    'SELECT zk_create(''/acl/shared/c'')',
    'SELECT zk_set_acl(''/acl/shared'', ''{world:anyone:r}'')'
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/acl/shared');
-- adding the same identity again changes nothing
SELECT zk_add_auth('digest', 'bob:builder');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/acl/shared');
-- the identities are the connection's, whatever its current role
RESET ROLE;
SET ROLE regress_zk_alice;
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/acl/shared');
SELECT zk_add_auth('digest', 'alice:secret');
SELECT stmt, zk_test_code(stmt) AS as_alice_and_bob
  FROM unnest(ARRAY[
    'SELECT * FROM zk_get(''/acl/alice'')',
    'SELECT zk_set(''/acl/shared'', ''by alice'')',
    'SELECT zk_create(''/acl/alice/child'')',
    'SELECT zk_delete(''/acl/alice/child'')',
    'SELECT zk_set_acl(''/acl/alice'', ARRAY[''' || :'alice' || ':cdrwa'', ''world:anyone:r''])'
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
SELECT zk_get_acl('/acl/alice') = ARRAY[:'alice' || ':cdrwa', 'world:anyone:r'] AS acl_set;
RESET ROLE;

--
-- auth: stands for every identity the session has added (ZooKeeper's
-- fixupACL), the id part ignored; ZK114 when it has none.  ip and pg
-- identities are implicit and do not count; a superuser has none either.
--
\c -
\set SHOW_CONTEXT never
SELECT zk_test_sqlstate($$SELECT zk_create('/acl/auth0', NULL, 'persistent', ARRAY['auth::cdrwa'])$$);
SET ROLE regress_zk_bob;
SELECT zk_test_code($$SELECT zk_create('/acl/auth0', NULL, 'persistent', ARRAY['auth::cdrwa'])$$)
       AS without_identity;
SELECT zk_test_code($$SELECT zk_create('/acl/auth0', NULL, 'persistent', ARRAY['world:anyone:r', 'auth::cdrwa'])$$)
       AS mixed_without_identity;
SELECT zk_exists('/acl/auth0') IS NULL AS not_created;
SELECT zk_add_auth('digest', 'bob:builder');
SELECT zk_create('/acl/auth1', 'a1', 'persistent', ARRAY['auth::cdrwa']);
SELECT zk_get_acl('/acl/auth1') = ARRAY[:'bob' || ':cdrwa'] AS expanded_to_bob;
SELECT zk_add_auth('digest', 'alice:secret');
SELECT zk_create('/acl/auth2', 'a2', 'persistent', ARRAY['auth:whatever:rw', 'world:anyone:c']);
-- (without ADMIN, get_acl masks the digests, as ZooKeeper 3.8 does)
SELECT zk_get_acl('/acl/auth2') AS as_seen_without_admin;
RESET ROLE;
SELECT zk_get_acl('/acl/auth2') = ARRAY[:'bob' || ':rw', :'alice' || ':rw', 'world:anyone:c']
       AS expanded_to_both_in_order;
SET ROLE regress_zk_bob;
-- in set_acl and in a multi's create too
SELECT s.aversion FROM zk_set_acl('/acl/auth1', ARRAY['auth::r', 'auth::a']) s;
SELECT zk_get_acl('/acl/auth1') = ARRAY[:'bob' || ':r', :'alice' || ':r', :'bob' || ':a', :'alice' || ':a']
       AS set_acl_expanded;
SELECT op_index, path FROM zk_multi(zk_op_create('/acl/auth3', NULL, 'persistent', ARRAY['auth::cd']));
RESET ROLE;
SELECT zk_get_acl('/acl/auth3') = ARRAY[:'bob' || ':cd', :'alice' || ':cd'] AS multi_expanded;
-- the expanded ACL binds others: a fresh connection without identities
\c -
\set SHOW_CONTEXT never
SET ROLE regress_zk_bob;
SELECT zk_test_code($$SELECT * FROM zk_get('/acl/auth2')$$) AS get_auth2;
SELECT zk_test_code($$SELECT zk_create('/acl/auth2/c')$$) AS create_granted_by_world_c;
SELECT zk_add_auth('digest', 'alice:secret');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/acl/auth2');
RESET ROLE;

--
-- ip: the client address.  A Unix-socket client (as here) has none, unless
-- zkpg.unix_socket_address (superusers only) gives it one: no ip: entry
-- grants it anything by default, not even ip:0.0.0.0/0.
--
\c -
\set SHOW_CONTEXT never
SELECT zk_create('/acl/ip_default', 'd', 'persistent', ARRAY['ip:0.0.0.0/0:r', 'ip:127.0.0.1:r']);
SET ROLE regress_zk_bob;
SELECT zk_test_code($$SELECT * FROM zk_get('/acl/ip_default')$$) AS unix_socket_has_no_address;
SELECT zk_test_code($$SET zkpg.unix_socket_address = '127.0.0.1'$$) AS bob_cannot_claim_one;
RESET ROLE;
SET zkpg.unix_socket_address = '127.0.0.1';
SELECT zk_create('/acl/ip_lo', 'lo', 'persistent', ARRAY['ip:127.0.0.1:r']);
SELECT zk_create('/acl/ip_lo8', 'lo8', 'persistent', ARRAY['ip:127.0.0.0/8:r']);
SELECT zk_create('/acl/ip_any', 'any', 'persistent', ARRAY['ip:0.0.0.0/0:r']);
SELECT zk_create('/acl/ip_lo2', 'lo2', 'persistent', ARRAY['ip:127.0.0.2:r']);
SELECT zk_create('/acl/ip_ten', 'ten', 'persistent', ARRAY['ip:10.0.0.0/8:r']);
SELECT zk_create('/acl/ip_v6', 'v6', 'persistent', ARRAY['ip:::1:r']);
SELECT zk_create('/acl/ip_rw', 'rw', 'persistent', ARRAY['ip:127.0.0.1/32:rw', 'ip:10.0.0.0/8:cdrwa']);
SELECT zk_get_acl('/acl/ip_v6');
SET ROLE regress_zk_bob;
SELECT n AS node, zk_test_code(format('SELECT * FROM zk_get(%L)', '/acl/' || n)) AS get
  FROM unnest(ARRAY['ip_lo', 'ip_lo8', 'ip_any', 'ip_lo2', 'ip_ten', 'ip_v6', 'ip_rw']) n;
SELECT s.version FROM zk_set('/acl/ip_rw', 'rw2') s;
SELECT zk_test_code($$SELECT zk_create('/acl/ip_rw/c')$$) AS create_needs_c_for_this_address;
RESET ROLE;
RESET zkpg.unix_socket_address;

--
-- pg:ROLE: granted when the current role is a member of ROLE (itself
-- included); followed as memberships change and as SET ROLE changes the
-- current role.
--
SELECT zk_create('/acl/pg_readers', 'readers', 'persistent', ARRAY['pg:regress_zk_readers:r']);
SELECT zk_create('/acl/pg_bob', 'bob', 'persistent', ARRAY['pg:regress_zk_bob:rw']);
SELECT zk_create('/acl/pg_nobody', 'nobody', 'persistent', ARRAY['pg:regress_zk_no_such_role:r']);
SET ROLE regress_zk_alice;
SELECT n AS node, zk_test_code(format('SELECT * FROM zk_get(%L)', '/acl/' || n)) AS alice_get
  FROM unnest(ARRAY['pg_readers', 'pg_bob', 'pg_nobody']) n;
SET ROLE regress_zk_bob;
SELECT n AS node, zk_test_code(format('SELECT * FROM zk_get(%L)', '/acl/' || n)) AS bob_get
  FROM unnest(ARRAY['pg_readers', 'pg_bob', 'pg_nobody']) n;
SELECT s.version FROM zk_set('/acl/pg_bob', 'bob2') s;
RESET ROLE;
GRANT regress_zk_readers TO regress_zk_bob;
SET ROLE regress_zk_bob;
SELECT convert_from(data, 'UTF8') AS granted_now FROM zk_get('/acl/pg_readers');
RESET ROLE;
REVOKE regress_zk_readers FROM regress_zk_bob;
SET ROLE regress_zk_bob;
SELECT zk_test_code($$SELECT * FROM zk_get('/acl/pg_readers')$$) AS revoked_again;
RESET ROLE;
-- membership through a chain of roles counts
CREATE ROLE regress_zk_team;
GRANT regress_zk_readers TO regress_zk_team;
GRANT regress_zk_team TO regress_zk_bob;
SET ROLE regress_zk_bob;
SELECT convert_from(data, 'UTF8') AS through_team FROM zk_get('/acl/pg_readers');
RESET ROLE;
REVOKE regress_zk_team FROM regress_zk_bob;

--
-- A superuser bypasses every ACL.
--
SELECT n AS node, zk_test_code(format('SELECT * FROM zk_get(%L)', '/acl/' || n)) AS superuser_get
  FROM unnest(ARRAY['alice', 'ip_ten', 'ip_v6', 'pg_nobody', 'auth2']) n;
SELECT s.version FROM zk_set('/acl/pg_nobody', 'changed') s;
SELECT zk_create('/acl/pg_nobody/child');
SELECT zk_delete('/acl/pg_nobody/child');
SELECT s.aversion FROM zk_set_acl('/acl/pg_nobody', ARRAY['pg:regress_zk_no_such_role:cdrwa']) s;

--
-- set_acl: needs ADMIN; checks aversion (ZK103) and bumps only aversion.
--
SELECT zk_create('/acl/versioned', 'v', 'persistent', ARRAY['pg:regress_zk_bob:cdrw']);
SELECT version, cversion, aversion FROM zk_exists('/acl/versioned');
SET ROLE regress_zk_bob;
SELECT zk_test_code($$SELECT zk_set_acl('/acl/versioned', '{world:anyone:cdrwa}')$$) AS without_admin;
RESET ROLE;
SELECT zk_test_sqlstate($$SELECT zk_set_acl('/acl/versioned', '{pg:regress_zk_bob:cdrwa}', 3)$$);
SELECT s.version, s.cversion, s.aversion
  FROM zk_set_acl('/acl/versioned', '{pg:regress_zk_bob:cdrwa}', 0) s;
SET ROLE regress_zk_bob;
SELECT s.aversion FROM zk_set_acl('/acl/versioned', '{pg:regress_zk_bob:cdrwa,world:anyone:r}', 1) s;
SELECT zk_test_code($$SELECT zk_set_acl('/acl/versioned', '{world:anyone:r}', 1)$$) AS stale_aversion;
SELECT zk_get_acl('/acl/versioned');
RESET ROLE;
SELECT zk_test_code($$SELECT zk_set_acl('/acl/no_such_node', '{world:anyone:r}')$$) AS absent;
SELECT zk_test_code($$SELECT zk_set_acl('/acl/versioned', '{}')$$) AS empty_acl;
SELECT version, cversion, aversion FROM zk_exists('/acl/versioned');

--
-- Watches obey READ: a read that is refused sets no watch; an absent node
-- needs no permission, so zk_exists watches it.
--
SELECT zk_create('/acl/secret', 's', 'persistent', ARRAY['world:anyone:cdwa']);
SET ROLE regress_zk_bob;
SELECT stmt, zk_test_code(stmt) AS bob
  FROM unnest(ARRAY[
    'SELECT * FROM zk_get(''/acl/secret'', true)',
    'SELECT zk_exists(''/acl/secret'', true)',
    'SELECT * FROM zk_get_children(''/acl/secret'', true)',
    'SELECT zk_add_watch(''/acl/secret'')',
    'SELECT zk_add_watch(''/acl/secret'', true)',
    'SELECT zk_exists(''/acl/secret/absent'', true)'
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
-- the watch is there, but zkpg.watches shows no path under a node its
-- reader cannot read (zk_trust_views)
SELECT path, kind FROM zkpg.watches WHERE session_id = zk_session_id() ORDER BY path, kind;
SELECT zk_remove_watches('/acl/secret/absent');
UNLISTEN *;
RESET ROLE;

SELECT zk_count_children('/acl');
DROP ROLE regress_zk_team;
DROP ROLE regress_zk_alice;
DROP ROLE regress_zk_bob;
DROP ROLE regress_zk_readers;
