-- CreateEnum
CREATE TYPE "audit_outcome" AS ENUM ('ok', 'denied');

-- CreateTable
CREATE TABLE "audit_entry" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_kind" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_name" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_id" TEXT,
    "summary" JSONB NOT NULL,
    "request_id" TEXT,
    "source_address" TEXT,
    "outcome" "audit_outcome" NOT NULL,

    CONSTRAINT "audit_entry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_entry_at_idx" ON "audit_entry"("at");

-- CreateIndex
CREATE INDEX "audit_entry_actor_id_id_idx" ON "audit_entry"("actor_id", "id");

-- CreateIndex
CREATE INDEX "audit_entry_actor_name_id_idx" ON "audit_entry"("actor_name", "id");

-- CreateIndex
CREATE INDEX "audit_entry_resource_type_resource_id_id_idx" ON "audit_entry"("resource_type", "resource_id", "id");

-- CreateIndex
CREATE INDEX "audit_entry_action_id_idx" ON "audit_entry"("action", "id");
