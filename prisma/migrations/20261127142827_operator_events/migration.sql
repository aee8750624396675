-- CreateTable
CREATE TABLE "operator_event" (
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "client_id" TEXT,
    "deployment_id" TEXT,
    "data" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "operator_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "operator_event_type_idx" ON "operator_event"("type");

-- CreateIndex
CREATE INDEX "operator_event_deployment_id_id_idx" ON "operator_event"("deployment_id", "id");

-- CreateIndex
CREATE INDEX "operator_event_client_id_id_idx" ON "operator_event"("client_id", "id");
