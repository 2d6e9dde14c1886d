ALTER TABLE contracts ADD COLUMN invoice_tax_rate NUMERIC(24,13);
