-- Direct deployments were stored with the JSON value null as their selector instead of SQL NULL, so
-- every device's recomputation took them for selector deployments and, for a device without facts
-- (removed by its client), wrote a stray not-placeable/removed target onto another client's deployment.
UPDATE "deployment" SET "selector" = NULL WHERE "selector" = 'null'::jsonb;

-- Those stray targets were never placed (no facts, no digest), so no manifest ever listed them.
DELETE FROM "deployment_target" t
 USING "deployment" d
 WHERE t."deployment_id" = d."id"
   AND d."selector" IS NULL
   AND (t."client_id" IS DISTINCT FROM d."target_client_id" OR t."device_id" IS DISTINCT FROM d."target_device_id")
   AND NOT t."in_manifest";
