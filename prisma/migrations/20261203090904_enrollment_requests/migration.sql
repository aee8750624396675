-- CreateEnum
CREATE TYPE "enrollment_request_state" AS ENUM ('pending', 'approved', 'rejected');

-- CreateTable
CREATE TABLE "enrollment_request" (
    "id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "spiffe_id" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "not_before" TIMESTAMPTZ(3) NOT NULL,
    "not_after" TIMESTAMPTZ(3) NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "request_count" BIGINT NOT NULL DEFAULT 0,
    "device_ids" TEXT[],
    "last_remote_address" TEXT,
    "state" "enrollment_request_state" NOT NULL DEFAULT 'pending',
    "decided_by" TEXT,
    "decided_at" TIMESTAMPTZ(3),

    CONSTRAINT "enrollment_request_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "enrollment_request_fingerprint_key" ON "enrollment_request"("fingerprint");

-- CreateIndex
CREATE INDEX "enrollment_request_client_id_idx" ON "enrollment_request"("client_id");

-- CreateIndex
CREATE INDEX "enrollment_request_state_first_seen_at_id_idx" ON "enrollment_request"("state", "first_seen_at", "id");

-- CreateIndex
CREATE INDEX "enrollment_request_first_seen_at_id_idx" ON "enrollment_request"("first_seen_at", "id");
