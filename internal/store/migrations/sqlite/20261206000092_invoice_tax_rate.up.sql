ALTER TABLE contracts ADD COLUMN invoice_tax_rate TEXT;
