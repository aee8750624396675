-- AlterTable
ALTER TABLE "deployment" ADD COLUMN     "recomputed_revision" INTEGER NOT NULL DEFAULT 0;

-- Existing deployments were recomputed by the queue that enqueued them, so only new changes are tracked.
UPDATE "deployment" SET "recomputed_revision" = "revision";
