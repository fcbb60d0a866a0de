-- ZooKeeper's container manager: a container goes when its last child
-- goes; a TTL node goes when it has no children and was not modified for
-- its TTL.  zkpg.container_check_interval is 1 s by default; wait up to 15 s.
CREATE FUNCTION zk_test_gone(p text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF zk_exists(p) IS NULL THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN false;
END $$;

SELECT zk_create('/ctr');
SELECT zk_create('/ctr/box', NULL, 'container');
SELECT zk_create('/ctr/box/item');
SELECT zk_create('/ctr/empty', NULL, 'container');      -- never had a child
SELECT zk_create('/ctr/ttl', 'x', 'persistent_ttl', NULL, 200);
SELECT zk_create('/ctr/ttlp', 'x', 'persistent_ttl', NULL, 200);
SELECT zk_create('/ctr/ttlp/child');                     -- keeps its TTL parent
SELECT zk_create('/ctr/seq-', 'x', 'persistent_sequential_ttl', NULL, 200) AS seqpath \gset

SELECT zk_test_gone('/ctr/ttl') AS ttl_node_expired;
SELECT zk_test_gone(:'seqpath') AS sequential_ttl_node_expired;
SELECT zk_exists('/ctr/box') IS NOT NULL AS container_with_child_stays;
SELECT zk_delete('/ctr/box/item');
SELECT zk_test_gone('/ctr/box') AS container_goes_with_its_last_child;
SELECT zk_exists('/ctr/empty') IS NOT NULL AS container_that_never_had_a_child_stays,
       zk_exists('/ctr/ttlp') IS NOT NULL AS ttl_node_with_a_child_stays;
SELECT zk_delete('/ctr/ttlp/child');
SELECT zk_test_gone('/ctr/ttlp') AS ttl_node_goes_once_childless;
SELECT * FROM zk_get_children('/ctr');
DROP FUNCTION zk_test_gone(text);
