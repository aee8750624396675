-- CreateEnum
CREATE TYPE "client_profile" AS ENUM ('rc3', 'legacy');

-- CreateEnum
CREATE TYPE "client_state" AS ENUM ('pending', 'active', 'retired', 'rejected');

-- CreateEnum
CREATE TYPE "operator_role" AS ENUM ('admin', 'operator', 'viewer');

-- CreateTable
CREATE TABLE "client" (
    "id" UUID NOT NULL,
    "profile" "client_profile" NOT NULL,
    "external_id" TEXT NOT NULL,
    "state" "client_state" NOT NULL,
    "cert_fingerprint" TEXT,
    "certificate_pem" TEXT,
    "key_id" TEXT,
    "first_seen_at" TIMESTAMPTZ(3),
    "last_seen_at" TIMESTAMPTZ(3),
    "last_remote_address" TEXT,
    "state_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "client_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "client_settings" (
    "client_id" UUID NOT NULL,
    "polling_interval_seconds" INTEGER,
    "polling_period" JSONB,
    "downtime_windows" JSONB,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "client_settings_pkey" PRIMARY KEY ("client_id")
);

-- CreateTable
CREATE TABLE "fleet_settings" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "polling_interval_seconds" INTEGER NOT NULL DEFAULT 30,
    "polling_period" JSONB,
    "downtime_windows" JSONB NOT NULL DEFAULT '[]',
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "fleet_settings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "preauthorized_certificate" (
    "fingerprint" TEXT NOT NULL,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "preauthorized_certificate_pkey" PRIMARY KEY ("fingerprint")
);

-- CreateTable
CREATE TABLE "operator_token" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" "operator_role" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "operator_token_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "client_cert_fingerprint_key" ON "client"("cert_fingerprint");

-- CreateIndex
CREATE INDEX "client_state_profile_idx" ON "client"("state", "profile");

-- CreateIndex
CREATE UNIQUE INDEX "client_profile_external_id_key" ON "client"("profile", "external_id");

-- CreateIndex
CREATE UNIQUE INDEX "operator_token_token_hash_key" ON "operator_token"("token_hash");

-- AddForeignKey
ALTER TABLE "client_settings" ADD CONSTRAINT "client_settings_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "client"("id") ON DELETE CASCADE ON UPDATE CASCADE;
