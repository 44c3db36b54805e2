-- GET /v1/customers?query=son over 100,000 customers: the count, then the first page (20), as patron
-- sends them (the store's customers only). bench.py runs the four search_*.sql files with equal
-- weights, as search.lua rotates.
SELECT COUNT(*) FROM customers WHERE (store_id = 'store_default0000000') AND (((email_folded LIKE '%son%' ESCAPE '\') OR (firstname_folded LIKE '%son%' ESCAPE '\')) OR (lastname_folded LIKE '%son%' ESCAPE '\'));
SELECT * FROM customers WHERE (store_id = 'store_default0000000') AND (((email_folded LIKE '%son%' ESCAPE '\') OR (firstname_folded LIKE '%son%' ESCAPE '\')) OR (lastname_folded LIKE '%son%' ESCAPE '\')) ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0;
