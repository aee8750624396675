-- AlterTable
ALTER TABLE "deployment_target" ADD COLUMN     "digest_since_version" BIGINT;

-- CreateTable
CREATE TABLE "deployment_status" (
    "client_id" UUID NOT NULL,
    "deployment_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "known" BOOLEAN NOT NULL,
    "adopted_manifest_version" BIGINT,
    "state" TEXT NOT NULL,
    "error" JSONB,
    "components" JSONB NOT NULL DEFAULT '[]',
    "inconsistent" BOOLEAN NOT NULL DEFAULT false,
    "reports" INTEGER NOT NULL DEFAULT 1,
    "first_reported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_reported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_status_pkey" PRIMARY KEY ("client_id","deployment_id","device_id")
);

-- CreateTable
CREATE TABLE "deployment_status_report" (
    "id" BIGSERIAL NOT NULL,
    "client_id" UUID NOT NULL,
    "deployment_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "adopted_manifest_version" BIGINT,
    "state" TEXT NOT NULL,
    "error" JSONB,
    "components" JSONB NOT NULL DEFAULT '[]',
    "inconsistent" BOOLEAN NOT NULL DEFAULT false,
    "applied" BOOLEAN NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_status_report_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "deployment_status_state_idx" ON "deployment_status"("state");

-- CreateIndex
CREATE INDEX "deployment_status_known_idx" ON "deployment_status"("known");

-- CreateIndex
CREATE INDEX "deployment_status_report_client_id_deployment_id_device_id__idx" ON "deployment_status_report"("client_id", "deployment_id", "device_id", "id");
