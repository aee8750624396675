-- AlterTable
ALTER TABLE "deployment" ADD COLUMN     "rollout_id" UUID,
ADD COLUMN     "rollout_policy" JSONB,
ADD COLUMN     "stable_revision" INTEGER;

-- CreateTable
CREATE TABLE "deployment_revision" (
    "deployment_id" UUID NOT NULL,
    "revision" INTEGER NOT NULL,
    "package_id" UUID NOT NULL,
    "profile_id" TEXT,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "note" TEXT,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_revision_pkey" PRIMARY KEY ("deployment_id","revision")
);

-- CreateTable
CREATE TABLE "deployment_rollout" (
    "id" UUID NOT NULL,
    "deployment_id" UUID NOT NULL,
    "from_revision" INTEGER,
    "to_revision" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "current_wave" INTEGER NOT NULL DEFAULT 0,
    "wave_count" INTEGER NOT NULL DEFAULT 0,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "policy" JSONB NOT NULL,
    "canary" JSONB,
    "wave_clock_at" TIMESTAMPTZ(3),
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "deployment_rollout_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollout_wave" (
    "rollout_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "spec" JSONB NOT NULL,
    "members" TEXT[],
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "outcome" TEXT,

    CONSTRAINT "rollout_wave_pkey" PRIMARY KEY ("rollout_id","index")
);

-- CreateTable
CREATE TABLE "rollout_action" (
    "id" BIGSERIAL NOT NULL,
    "rollout_id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "wave" INTEGER,
    "from_state" TEXT NOT NULL,
    "to_state" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rollout_action_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "deployment_rollout_deployment_id_created_at_idx" ON "deployment_rollout"("deployment_id", "created_at");

-- CreateIndex
CREATE INDEX "deployment_rollout_state_idx" ON "deployment_rollout"("state");

-- CreateIndex
CREATE INDEX "rollout_action_rollout_id_id_idx" ON "rollout_action"("rollout_id", "id");

-- Existing deployments reached every target at their current revision: record it, it is their last completed one.
INSERT INTO "deployment_revision" ("deployment_id", "revision", "package_id", "profile_id", "parameters", "note")
SELECT "id", "revision", "package_id", "profile_id", "parameters", 'recorded when staged rollouts were introduced'
  FROM "deployment";
UPDATE "deployment" SET "stable_revision" = "revision";
