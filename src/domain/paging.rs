//! Paging shared by every list: the direction a list is sorted in, and a page of results with
//! the arithmetic of where it starts. Each list adds its own filter and sort columns; the HTTP
//! side (`http::pagination`) parses the parameters and renders Chec's pagination block.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Ascending or descending, for any sort column.
pub enum SortDirection {
    Asc,
    Desc,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u32,
    pub page: u32,
}

impl<T> Page<T> {
    /// Where page `page` (from 1) of `limit` items starts.
    pub fn offset(page: u32, limit: u32) -> i64 {
        i64::from(page.saturating_sub(1)) * i64::from(limit)
    }

    /// Page `page` (from 1) of `limit` items out of `total`; `rows(limit, offset)` reads them,
    /// and is not called for a page past the end.
    pub fn read<E>(
        total: i64,
        page: u32,
        limit: u32,
        rows: impl FnOnce(i64, i64) -> Result<Vec<T>, E>,
    ) -> Result<Page<T>, E> {
        let offset = Self::offset(page, limit);
        let items = if offset >= total {
            Vec::new()
        } else {
            rows(i64::from(limit), offset)?
        };
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
            limit,
            page,
        })
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            page: self.page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_start_where_the_previous_one_ended() {
        assert_eq!(Page::<u8>::offset(1, 20), 0);
        assert_eq!(Page::<u8>::offset(3, 20), 40);
        assert_eq!(Page::<u8>::offset(0, 20), 0, "page 0 reads as page 1");
        let mut asked = None;
        let page = Page::read(45, 3, 20, |limit, offset| {
            asked = Some((limit, offset));
            Ok::<_, ()>(vec![1u8; 5])
        })
        .unwrap();
        assert_eq!(asked, Some((20, 40)));
        assert_eq!(
            (page.items.len(), page.total, page.limit, page.page),
            (5, 45, 20, 3)
        );
        let past = Page::read(45, 4, 20, |_, _| -> Result<Vec<u8>, ()> {
            panic!("a page past the end reads nothing")
        })
        .unwrap();
        assert!(past.items.is_empty());
        assert_eq!(past.total, 45);
        let doubled = Page::read(2, 1, 20, |_, _| Ok::<_, ()>(vec![1u8, 2]))
            .unwrap()
            .map(|n| n * 2);
        assert_eq!(doubled.items, vec![2, 4]);
    }
}
