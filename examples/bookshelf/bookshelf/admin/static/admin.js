// admin blueprint: ask before removing a book.
document.querySelectorAll(".admin-books form").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!confirm("Remove this book?")) event.preventDefault();
  });
});
