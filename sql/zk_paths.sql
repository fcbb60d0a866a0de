--
-- zk_paths: ZooKeeper's path rules (PathUtils.validatePath), names that are
-- valid although they look odd, sequential creates ending in '/', the sort
-- order of children, and parent/child and prefix boundaries (a node's
-- children are not the nodes whose path merely starts with its path).
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT zk_create('/paths');
SELECT zk_create('/paths/good');

--
-- Bad paths: every call that takes a path refuses them with ZK008, before
-- looking at the tree.  Characters above U+007F are built from their UTF-8
-- bytes so that this file does not depend on the client encoding.
--
CREATE TEMP TABLE bad_path (ord serial, label text, path text);
INSERT INTO bad_path (label, path) VALUES
    ('empty', ''),
    ('relative', 'paths'),
    ('relative, two names', 'paths/x'),
    ('leading space', ' /paths'),
    ('trailing slash', '/paths/'),
    ('trailing slash, deeper', '/paths/good/'),
    ('double slash', '/paths//x'),
    ('leading double slash', '//paths'),
    ('only slashes', '//'),
    ('dot name', '/paths/./x'),
    ('dot-dot name', '/paths/../x'),
    ('ends in dot name', '/paths/.'),
    ('ends in dot-dot name', '/paths/..'),
    ('root dot', '/.'),
    ('root dot-dot', '/..'),
    ('starts with dot name', '/./paths'),
    ('starts with dot-dot name', '/../paths'),
    ('U+0001', '/paths/a' || chr(1)),
    ('U+0009 tab', '/paths/a' || chr(9) || 'b'),
    ('U+000A newline', '/paths/a' || chr(10) || 'b'),
    ('U+000D return', '/paths/a' || chr(13)),
    ('U+001F', '/paths/' || chr(31) || 'a'),
    ('U+007F delete', '/paths/a' || chr(127)),
    ('U+0080', '/paths/a' || convert_from('\xc280'::bytea, 'UTF8')),
    ('U+0085 next line', '/paths/a' || convert_from('\xc285'::bytea, 'UTF8')),
    ('U+009F', '/paths/a' || convert_from('\xc29f'::bytea, 'UTF8')),
    ('U+E000 private use', '/paths/a' || convert_from('\xee8080'::bytea, 'UTF8')),
    ('U+F8FF private use', '/paths/a' || convert_from('\xefa3bf'::bytea, 'UTF8')),
    ('U+FFF0 specials', '/paths/a' || convert_from('\xefbfb0'::bytea, 'UTF8')),
    ('U+FFFD replacement', '/paths/a' || convert_from('\xefbfbd'::bytea, 'UTF8')),
    ('U+FFFF', '/paths/a' || convert_from('\xefbfbf'::bytea, 'UTF8')),
    -- outside the BMP a Java string holds a surrogate pair (U+D800-U+DFFF)
    ('U+1F600 (surrogates in Java)', '/paths/a' || convert_from('\xf09f9880'::bytea, 'UTF8')),
    ('U+10FFFF (surrogates in Java)', '/paths/a' || convert_from('\xf48fbfbf'::bytea, 'UTF8'));

SELECT ord, label,
       zk_test_code(format('SELECT zk_create(%L)', path)) AS "create",
       zk_test_code(format('SELECT zk_create(%L, NULL, %L)', path, 'ephemeral')) AS ephem,
       zk_test_code(format('SELECT * FROM zk_get(%L)', path)) AS get,
       zk_test_code(format('SELECT zk_exists(%L)', path)) AS exists,
       zk_test_code(format('SELECT zk_set(%L, NULL)', path)) AS set,
       zk_test_code(format('SELECT zk_delete(%L)', path)) AS delete,
       zk_test_code(format('SELECT zk_get_children(%L)', path)) AS children,
       zk_test_code(format('SELECT zk_get_acl(%L)', path)) AS get_acl,
       zk_test_code(format('SELECT zk_set_acl(%L, %L)', path, '{world:anyone:cdrwa}')) AS set_acl,
       zk_test_code(format('SELECT zk_count_children(%L)', path)) AS count,
       zk_test_code(format('SELECT zk_sync(%L)', path)) AS sync,
       zk_test_code(format('SELECT * FROM zk_multi(zk_op_create(%L, NULL, %L, NULL))',
                           path, 'persistent')) AS multi
  FROM bad_path ORDER BY ord;
-- nothing of that reached the tree
SELECT * FROM zk_get_children('/paths');
SELECT zk_count_children('/paths');

-- one message in full
SELECT zk_test_sqlstate($$SELECT zk_create('/paths//x')$$);

--
-- Valid names that look odd: dots that are not a whole name, spaces,
-- punctuation and SQL/LIKE metacharacters, quotes, backslashes, a long name,
-- and characters just outside the refused ranges.
--
CREATE TEMP TABLE good_name (ord serial, label text, name text);
INSERT INTO good_name (label, name) VALUES
    ('dot first', '.a'),
    ('dot-dot first', '..a'),
    ('dot last', 'a.'),
    ('dot-dot last', 'a..'),
    ('three dots', '...'),
    ('dots inside', 'a.b..c'),
    ('dot both ends', '.a.'),
    ('space', 'a b'),
    ('only a space', ' '),
    ('colon', 'a:b'),
    ('single quote', 'it''s'),
    ('double quote', 'a"b'),
    ('semicolon', 'a;b'),
    ('percent', '%'),
    ('underscore', '_'),
    ('backslash', 'a\b'),
    ('star and question mark', '*?'),
    ('brackets', '[x]{y}(z)'),
    ('dollar', '$1'),
    ('zookeeper as a name', 'zookeeper'),
    ('digits', '0000000001'),
    ('long name (1000)', repeat('x', 1000)),
    ('U+00A0 no-break space', 'a' || convert_from('\xc2a0'::bytea, 'UTF8')),
    ('U+00E9', convert_from('\xc3a9'::bytea, 'UTF8')),
    ('CJK', convert_from('\xe697a5e69cace8aa9e'::bytea, 'UTF8')),
    ('U+D7FF', 'a' || convert_from('\xed9fbf'::bytea, 'UTF8')),
    ('U+F900', 'a' || convert_from('\xefa480'::bytea, 'UTF8')),
    ('U+FFEF', 'a' || convert_from('\xefbfaf'::bytea, 'UTF8'));

SELECT ord, label,
       zk_test_sqlstate(format('SELECT zk_create(%L, convert_to(%L, %L))',
                               '/paths/good/' || name, name, 'UTF8')) AS "create"
  FROM good_name ORDER BY ord;
SELECT ord, label,
       zk_exists('/paths/good/' || name) IS NOT NULL AS exists,
       (SELECT convert_from(data, 'UTF8') = name FROM zk_get('/paths/good/' || name)) AS data_ok,
       zk_test_sqlstate(format('SELECT zk_create(%L)', '/paths/good/' || name || '/child')) AS child
  FROM good_name ORDER BY ord;
-- the children are exactly those names, and each has its one child
SELECT array(SELECT zk_get_children('/paths/good'))
       = array(SELECT name FROM good_name ORDER BY name COLLATE "C") AS children_match;
SELECT zk_count_children('/paths/good') AS descendants, count(*) * 2 AS expected
  FROM good_name;
SELECT label, array(SELECT zk_get_children('/paths/good/' || name)) AS children
  FROM good_name ORDER BY ord;
-- zk_create returns the path as created
SELECT zk_create('/paths/good/it''s/x y') AS returned;

--
-- A sequential create may end in '/' (ZooKeeper validates path || '1'):
-- the name is then only the suffix.  '.' and '..' followed by the suffix are
-- fine too; a '/' on a non-sequential create is not.
--
SELECT zk_create('/paths/seq');
SELECT zk_create('/paths/seq/', 'a', 'persistent_sequential');
SELECT zk_create('/paths/seq/', 'b', 'ephemeral_sequential');
SELECT zk_create('/paths/seq/', 'c', 'persistent_sequential_ttl', NULL, 3600000);
SELECT zk_create('/paths/seq/.', NULL, 'persistent_sequential');
SELECT zk_create('/paths/seq/..', NULL, 'persistent_sequential');
SELECT zk_create('/paths/seq/a.', NULL, 'persistent_sequential');
SELECT mode, zk_test_code(format('SELECT zk_create(%L, NULL, %L, NULL, %s)', '/paths/seq/', mode,
                                 CASE WHEN mode LIKE '%ttl' THEN '1000' ELSE 'NULL' END)) AS trailing_slash
  FROM unnest(ARRAY['persistent', 'ephemeral', 'container', 'persistent_ttl']) AS mode;
SELECT p, zk_test_code(format('SELECT zk_create(%L, NULL, %L)', p, 'persistent_sequential')) AS sequential
  FROM unnest(ARRAY['/paths/seq//', '/paths/seq/./', '/paths/seq/../', '/paths/nonexistent/',
                    'paths/seq/', '']) AS p;
SELECT * FROM zk_get_children('/paths/seq');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/paths/seq/0000000000');

--
-- zk_get_children returns names sorted ascending by code point (as Java's
-- String order and the C collation do), whatever the database collation.
--
SELECT zk_create('/paths/sort');
SELECT count(zk_create('/paths/sort/' || n))
  FROM unnest(ARRAY['b', 'B', 'a', 'A', '_x', '10', '9', 'z1', 'Z2', '~', '.dot', '-',
                    convert_from('\xc3a9'::bytea, 'UTF8'), 'ab', 'a0']) AS n;
SELECT ord, name FROM zk_get_children('/paths/sort') WITH ORDINALITY AS c(name, ord);

-- names are compared byte for byte: a precomposed and a decomposed e-acute
-- are two nodes, and so are 'A' and 'a'
SELECT zk_create('/paths/nf');
SELECT zk_create('/paths/nf/' || convert_from('\xc3a9'::bytea, 'UTF8')) = '/paths/nf/' || convert_from('\xc3a9'::bytea, 'UTF8') AS nfc,
       zk_create('/paths/nf/' || convert_from('\x65cc81'::bytea, 'UTF8')) = '/paths/nf/' || convert_from('\x65cc81'::bytea, 'UTF8') AS nfd;
SELECT encode(convert_to(c, 'UTF8'), 'hex') AS name_bytes FROM zk_get_children('/paths/nf') c;

--
-- Parent/child boundaries: children are whole names; nodes whose path only
-- starts with the same characters (or matches as a LIKE pattern) are not.
--
SELECT zk_create('/paths/like');
SELECT count(zk_create(p)) FROM unnest(ARRAY[
    '/paths/like/a', '/paths/like/a/1',
    '/paths/like/a_b', '/paths/like/a_b/1',
    '/paths/like/axb', '/paths/like/axb/1', '/paths/like/axb/2',
    '/paths/like/a%', '/paths/like/a%/1',
    '/paths/like/abc', '/paths/like/abc/1', '/paths/like/abc/2', '/paths/like/abc/3',
    '/paths/like/a\b', '/paths/like/a\b/1',
    '/paths/like/ab', '/paths/like/ab/x',
    '/paths/like/p', '/paths/like/pq', '/paths/like/pq/1', '/paths/like/p_', '/paths/like/p_/1'
    ]) AS p;
SELECT n, zk_count_children('/paths/like/' || n) AS descendants,
       array(SELECT zk_get_children('/paths/like/' || n)) AS children,
       (SELECT num_children FROM zk_exists('/paths/like/' || n)) AS num_children
  FROM unnest(ARRAY['a', 'a_b', 'axb', 'a%', 'abc', 'a\b', 'ab', 'p', 'pq', 'p_']) AS n
 ORDER BY n COLLATE "C";
SELECT zk_count_children('/paths/like');
SELECT * FROM zk_get_children('/paths/like');
-- a node without children can be deleted although other paths start with it
SELECT zk_delete('/paths/like/p');
SELECT zk_exists('/paths/like/pq/1') IS NOT NULL AS pq_child_stays,
       zk_exists('/paths/like/p_/1') IS NOT NULL AS p__child_stays;
SELECT zk_test_sqlstate($$SELECT zk_delete('/paths/like/a_b')$$);
SELECT zk_delete('/paths/like/a_b/1');
SELECT zk_delete('/paths/like/a_b');
SELECT zk_exists('/paths/like/axb/1') IS NOT NULL AS axb_child_stays;
-- a missing node is missing even when a longer path exists
SELECT zk_test_sqlstate($$SELECT zk_count_children('/paths/lik')$$);
SELECT zk_test_sqlstate($$SELECT zk_get_children('/paths/lik')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/paths/lik/e')$$);

--
-- A deep path: count_children counts all levels, get_children only one.
--
DO $$
DECLARE
    p text := '/paths/deep';
BEGIN
    PERFORM zk_create(p);
    FOR i IN 1..30 LOOP
        p := p || '/d' || i;
        PERFORM zk_create(p);
    END LOOP;
END
$$;
SELECT zk_count_children('/paths/deep') AS all_levels,
       array(SELECT zk_get_children('/paths/deep')) AS children,
       zk_count_children('/paths/deep/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10') AS below_d10;
SELECT zk_test_code($$SELECT zk_delete('/paths/deep/d1')$$) AS delete_d1;

--
-- ZooKeeper sets no limit on the length of a path (only jute.maxbuffer on
-- the whole request); zkpg keys the tree by path in btree indexes and
-- refuses paths over 1024 bytes with ZK008 (README, "Limits").
--
SELECT zk_test_code(format('SELECT zk_create(%L)', '/paths/' || repeat('long', 500))) AS create_2006_bytes,
       zk_test_code(format('SELECT zk_create(%L)', '/paths/' || repeat('long', 500) || '/'
                           || (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 90) i))) AS create_4887_bytes;
SELECT zk_test_code(format('SELECT zk_count_children(%L)', '/paths/' || repeat('long', 500))) AS count_children,
       zk_test_code(format('SELECT zk_get_children(%L)', '/paths/' || repeat('long', 500))) AS get_children;
