-- AlterTable
ALTER TABLE "deployment_status_report" ADD COLUMN     "idempotency_key" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "deployment_status_report_client_id_idempotency_key_key" ON "deployment_status_report"("client_id", "idempotency_key");
